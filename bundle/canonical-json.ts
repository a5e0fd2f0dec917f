import canonicalizeModule from 'canonicalize';

// RFC 8785 (JCS) canonical form: sorted keys, no insignificant white space. The same value
// always gives the same bytes, which is what makes bundles reproducible.
const canonicalize = canonicalizeModule as unknown as (value: unknown) => string | undefined;

export function canonicalJson(value: unknown): string {
  const text = canonicalize(value);
  if (text === undefined) {
    throw new TypeError('value has no JSON form');
  }

  return text;
}
