// Credential shapes a raw document must not carry out of the store. Each pattern is the
// documented shape of one issuer's credentials (prefix and alphabet), anchored on word
// boundaries so that ordinary prose, hashes and version strings do not match.
//
// secretlint's recommended preset was considered: it lints whole files asynchronously and
// reports character ranges, not the JSON pointers a redaction hint needs, and it has no
// JWT or key-name rules; these few patterns are checked value by value instead.

export type SecretKind =
  | 'pem_private_key'
  | 'aws_access_key_id'
  | 'github_token'
  | 'gitlab_token'
  | 'slack_token'
  | 'slack_webhook'
  | 'jwt'
  | 'secret_named_field';

interface SecretPattern {
  kind: SecretKind;
  pattern: RegExp;
}

export const SECRET_PATTERNS: readonly SecretPattern[] = [
  // RSA, EC, DSA, OPENSSH, ENCRYPTED, PGP ... PRIVATE KEY (BLOCK).
  { kind: 'pem_private_key', pattern: /-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----/ },
  { kind: 'aws_access_key_id', pattern: /\b(?:AKIA|ASIA|ABIA|ACCA|A3T[A-Z0-9])[A-Z0-9]{16}\b/ },
  {
    kind: 'github_token',
    pattern: /\b(?:gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{60,255})\b/,
  },
  { kind: 'gitlab_token', pattern: /\b(?:glpat|gldt|glrt|glptt|glft|glsoat)-[A-Za-z0-9_-]{20,}/ },
  { kind: 'slack_token', pattern: /\bxox[abposre]-[A-Za-z0-9-]{10,}/ },
  {
    kind: 'slack_webhook',
    pattern: /hooks\.slack\.com\/(?:services|workflows)\/[A-Za-z0-9]+\/[A-Za-z0-9]+\/[A-Za-z0-9]+/,
  },
  // A JWS compact token whose header and payload are base64url JSON objects ("{" → "eyJ").
  { kind: 'jwt', pattern: /\beyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}/ },
];

// The first credential shape a string value has, if any.
export function secretKindOf(value: string): SecretKind | undefined {
  return SECRET_PATTERNS.find(({ pattern }) => pattern.test(value))?.kind;
}

// Words that name a credential when they make up a field name (`password`, `apiToken`,
// `aws_secret_access_key`, `private-key`). Matched on the name's words, so that names
// such as `tokenizer` or `secretariat` are not taken for credentials.
const SECRET_WORDS = new Set([
  'password',
  'passwd',
  'passphrase',
  'pwd',
  'secret',
  'secrets',
  'token',
  'tokens',
  'credential',
  'credentials',
  'apikey',
  'privatekey',
]);
const SECRET_WORD_PAIRS = new Set([
  'private key',
  'api key',
  'access key',
  'secret key',
  'client secret',
]);

export function isSecretName(name: string): boolean {
  const words = wordsOf(name);
  if (words.some((word) => SECRET_WORDS.has(word))) {
    return true;
  }

  return words.slice(1).some((word, index) => SECRET_WORD_PAIRS.has(`${words[index]} ${word}`));
}

// `aws_access_key_id` → aws access key id; `apiToken` → api token; `X-Api-Key` → x api key.
function wordsOf(name: string): string[] {
  return name
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter((word) => word !== '');
}
