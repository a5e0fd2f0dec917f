import type { VersionComparer } from './version-comparer.js';

// For ecosystems without a comparer of their own (RubyGems, NuGet, Packagist, Pub, Hex):
// RubyGems' rule, which the others approximate well enough. Segments split on '.', '-',
// '_' and digit/letter transitions; numbers compare as numbers, a letter segment sorts
// below any number (so 1.0.0-beta < 1.0.0), and missing segments count as 0.
// Known gap: NuGet build metadata ('+…') and Packagist stability flags are not special.
export function genericComparer(ecosystem: string): VersionComparer {
  return {
    ecosystem,
    isValid: (version) => /^[0-9A-Za-z][0-9A-Za-z.+_-]*$/.test(version),
    compare: (a, b) => compareSegments(segmentsOf(a), segmentsOf(b)),
  };
}

type Segment = bigint | string;

function segmentsOf(version: string): Segment[] {
  const core = version.replace(/^v/i, '').split('+')[0];
  const tokens = core.toLowerCase().match(/\d+|[a-z]+/g) ?? [];

  return tokens.map((token) => (/^\d/.test(token) ? BigInt(token) : token));
}

function compareSegments(left: Segment[], right: Segment[]): number {
  for (let i = 0; i < Math.max(left.length, right.length); i++) {
    const result = compareSegment(left[i] ?? 0n, right[i] ?? 0n);
    if (result !== 0) {
      return result;
    }
  }

  return 0;
}

function compareSegment(a: Segment, b: Segment): number {
  if (typeof a !== typeof b) {
    return typeof a === 'string' ? -1 : 1;
  }

  return a < b ? -1 : a > b ? 1 : 0;
}
