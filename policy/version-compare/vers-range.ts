import type { VersionComparer } from './version-comparer.js';

// Containment in a `vers:` range (https://github.com/package-url/purl-spec, VERS): the
// form CycloneDX VEX uses in `affects[].versions[].range`. Versions are ordered by the
// comparer of the component's ecosystem whatever scheme the range names: CycloneDX writes
// `vers:generic/…` for products whose versions follow their package's scheme anyway.

type Comparator = '=' | '!=' | '<' | '<=' | '>' | '>=';

interface Constraint {
  comparator: Comparator;
  version: string;
}

// Answers null when the range does not parse or holds a version the comparer does not
// accept: such a range says nothing about the version, in or out.
export function versRangeContains(
  range: string,
  version: string,
  comparer: VersionComparer,
): boolean | null {
  const constraints = parseVers(range);
  if (constraints === null || !comparer.isValid(version)) {
    return null;
  }
  if (constraints === 'any') {
    return true;
  }
  if (constraints.some((c) => !comparer.isValid(c.version))) {
    return null;
  }

  return contains(constraints, version, comparer);
}

function parseVers(range: string): Constraint[] | 'any' | null {
  const match = /^vers:([a-z0-9.+-]+)\/(.+)$/i.exec(range.trim());
  if (match === null) {
    return null;
  }
  const body = match[2].replace(/\s+/g, '');
  if (body === '*') {
    return 'any';
  }
  const constraints = body.split('|').map(constraintOf);

  return constraints.some((c) => c === null) ? null : (constraints as Constraint[]);
}

function constraintOf(text: string): Constraint | null {
  const match = /^(>=|<=|!=|<|>|=)?(.+)$/.exec(text);
  if (match === null) {
    return null;
  }
  let version: string;
  try {
    version = decodeURIComponent(match[2]);
  } catch {
    return null;
  }

  return { comparator: (match[1] ?? '=') as Comparator, version };
}

// Equalities decide first; the other constraints, sorted by version, form intervals: a
// leading upper bound, a lower bound followed by an upper bound, a trailing lower bound.
function contains(constraints: Constraint[], version: string, comparer: VersionComparer) {
  const same = (c: Constraint) => comparer.compare(version, c.version) === 0;
  if (constraints.some((c) => c.comparator === '=' && same(c))) {
    return true;
  }
  if (constraints.some((c) => c.comparator === '!=' && same(c))) {
    return false;
  }
  const bounds = constraints
    .filter((c) => c.comparator !== '=' && c.comparator !== '!=')
    .sort((a, b) => comparer.compare(a.version, b.version));
  if (bounds.length === 0) {
    return constraints.every((c) => c.comparator === '!=');
  }

  return intervalHolds(bounds, version, comparer);
}

function intervalHolds(bounds: Constraint[], version: string, comparer: VersionComparer) {
  const holds = (c: Constraint) => satisfies(comparer.compare(version, c.version), c.comparator);
  const isLower = (c: Constraint) => c.comparator === '>' || c.comparator === '>=';
  const [first, last] = [bounds[0], bounds[bounds.length - 1]];
  if ((!isLower(first) && holds(first)) || (isLower(last) && holds(last))) {
    return true;
  }

  return bounds.some(
    (bound, i) =>
      i + 1 < bounds.length &&
      isLower(bound) &&
      !isLower(bounds[i + 1]) &&
      holds(bound) &&
      holds(bounds[i + 1]),
  );
}

function satisfies(order: number, comparator: Comparator): boolean {
  switch (comparator) {
    case '<':
      return order < 0;
    case '<=':
      return order <= 0;
    case '>':
      return order > 0;
    case '>=':
      return order >= 0;
    case '=':
      return order === 0;
    default:
      return order !== 0;
  }
}
