// OSV affected ranges → the constraint strings Trivy's comparers accept (docs/formats/trivy-db.md 5.4):
// one string per range, comparisons joined by ", " (AND), strings OR-ed by Trivy. Semantics
// follow trivy-db's OSV importer: each `introduced` opens a range, the next `fixed` closes it
// exclusively, `last_affected` inclusively; `introduced: "0"` means no lower bound.
import { StellaError } from '../../domain/errors.js';
import type { AffectedPackage, RangeEvent } from '../../domain/records.js';

export interface TrivyVersions {
  vulnerable: string[];
  patched: string[];
}

interface OpenRange {
  from: string;
  to?: string;
  toIncluded?: boolean;
}

const COMPARABLE_RANGE_TYPES = new Set(['SEMVER', 'ECOSYSTEM']);

// `field` names the affected entry (e.g. "affected[2]") in error messages.
export function toTrivyVersions(pkg: AffectedPackage, field: string): TrivyVersions {
  const ranges: OpenRange[] = [];
  const patched: string[] = [];
  pkg.ranges.forEach((range, i) => {
    const rangeField = `${field}.ranges[${i}]`;
    if (range.type === 'GIT') return; // commit ranges mean nothing to a version comparer

    if (!COMPARABLE_RANGE_TYPES.has(range.type)) unrepresentable(`${rangeField}.type`, range.type);
    collectRange(range.events, `${rangeField}.events`, ranges, patched);
  });

  return { vulnerable: vulnerableStrings(pkg, field, ranges), patched: unique(patched) };
}

function vulnerableStrings(pkg: AffectedPackage, field: string, ranges: OpenRange[]): string[] {
  if (ranges.length > 0) return unique(ranges.map(rangeString));

  // Listed versions are used only when no comparable range exists. trivy-db also adds
  // listed versions that its comparers find outside the ranges; we have no comparers here,
  // so a version listed outside every range of a ranged entry is not represented.
  if (pkg.versions.length === 0) unrepresentable(`${field}.ranges`, 'no version range or list');
  pkg.versions.forEach((v, i) => checkVersion(v, `${field}.versions[${i}]`));

  return unique(pkg.versions.map((v) => `=${v}`));
}

function collectRange(
  events: RangeEvent[],
  field: string,
  ranges: OpenRange[],
  patched: string[],
): void {
  let current: OpenRange | undefined;
  events.forEach((event, i) => {
    const at = `${field}[${i}]`;
    if ('introduced' in event) {
      current = { from: checkVersion(event.introduced, `${at}.introduced`) };
      ranges.push(current);
      return;
    }
    if ('limit' in event) unrepresentable(`${at}.limit`, event.limit);

    // A closing event before any `introduced` closes a range open from the first version.
    if (!current || current.to !== undefined) {
      current = { from: '0' };
      ranges.push(current);
    }
    if ('fixed' in event) {
      current.to = checkVersion(event.fixed, `${at}.fixed`);
      patched.push(event.fixed);
    } else if ('last_affected' in event) {
      current.to = checkVersion(event.last_affected, `${at}.last_affected`);
      current.toIncluded = true;
    }
  });
}

function rangeString(range: OpenRange): string {
  if (range.to === undefined) return `>=${range.from}`;
  if (range.toIncluded && range.from === range.to) return `=${range.from}`;

  const upper = `${range.toIncluded ? '<=' : '<'}${range.to}`;

  return range.from === '0' ? upper : `>=${range.from}, ${upper}`;
}

// Characters that would change the meaning of a constraint string (separators, operators).
const CONSTRAINT_SYNTAX = /[\s,|<>=^~*]/;

function checkVersion(version: string, field: string): string {
  if (version === '' || CONSTRAINT_SYNTAX.test(version)) unrepresentable(field, version);

  return version;
}

function unique(values: string[]): string[] {
  return [...new Set(values)];
}

function unrepresentable(field: string, value: string): never {
  throw new StellaError(
    'schema_mismatch',
    `Trivy DB mapping cannot represent ${field} (${JSON.stringify(value)})`,
    { details: { field, value } },
  );
}
