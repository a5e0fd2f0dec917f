import type { AffectedPackage, RangeEvent } from '../../domain/records.js';
import type { VersionComparer } from './version-comparer.js';

// Where a version falls in an OSV `affected[]` entry (https://ossf.github.io/osv-schema/
// #affectedranges-field): events are sorted by version, each `introduced` opens an interval,
// the next `fixed` closes it exclusively and `last_affected` inclusively; "0" means "from
// the first version". Explicit `versions[]` also match. GIT ranges hold commits, not
// versions, and are skipped; so is a range with a version the comparer does not accept.

export interface VersionInterval {
  introduced: string;
  fixed?: string;
  lastAffected?: string;
}

export interface RangeMatch {
  // The interval that holds the version, or the listed version it equals.
  interval?: VersionInterval;
  listed?: string;
  // The version that ends the matching interval, when a fix exists.
  fixedIn?: string;
}

type Bound = { kind: 'introduced' | 'fixed' | 'last_affected'; version: string };

export function matchAffected(
  pkg: AffectedPackage,
  version: string,
  comparer: VersionComparer,
): RangeMatch | null {
  if (!comparer.isValid(version)) {
    return null;
  }
  for (const range of pkg.ranges) {
    if (range.type === 'GIT') {
      continue;
    }
    const interval = intervalsOf(range.events, comparer)?.find((i) => holds(i, version, comparer));
    if (interval) {
      return { interval, fixedIn: interval.fixed };
    }
  }
  const listed = pkg.versions.find((v) => sameVersion(v, version, comparer));

  return listed === undefined ? null : { listed };
}

// null when an event's version is not one the comparer accepts: the range cannot be read.
export function intervalsOf(
  events: RangeEvent[],
  comparer: VersionComparer,
): VersionInterval[] | null {
  const bounds = events.flatMap(boundOf);
  if (bounds.some((b) => !isZero(b) && !comparer.isValid(b.version))) {
    return null;
  }
  const sorted = bounds
    .map((bound, index) => ({ bound, index }))
    .sort((a, b) => compareBounds(a.bound, b.bound, comparer) || a.index - b.index)
    .map((entry) => entry.bound);

  return pairUp(sorted);
}

function boundOf(event: RangeEvent): Bound[] {
  if ('introduced' in event) return [{ kind: 'introduced', version: event.introduced }];
  if ('fixed' in event) return [{ kind: 'fixed', version: event.fixed }];
  if ('last_affected' in event) return [{ kind: 'last_affected', version: event.last_affected }];

  // `limit` only narrows which commits a GIT range walks; it has no meaning for versions.
  return [];
}

function pairUp(bounds: Bound[]): VersionInterval[] {
  const intervals: VersionInterval[] = [];
  let open: string | undefined;
  for (const bound of bounds) {
    if (bound.kind === 'introduced') {
      open ??= bound.version;
    } else if (open !== undefined) {
      const end =
        bound.kind === 'fixed' ? { fixed: bound.version } : { lastAffected: bound.version };
      intervals.push({ introduced: open, ...end });
      open = undefined;
    }
  }
  if (open !== undefined) {
    intervals.push({ introduced: open });
  }

  return intervals;
}

function holds(interval: VersionInterval, version: string, comparer: VersionComparer): boolean {
  const zero = interval.introduced === '0';
  if (!zero && comparer.compare(version, interval.introduced) < 0) {
    return false;
  }
  if (interval.fixed !== undefined) {
    return comparer.compare(version, interval.fixed) < 0;
  }
  if (interval.lastAffected !== undefined) {
    return comparer.compare(version, interval.lastAffected) <= 0;
  }

  return true;
}

function compareBounds(a: Bound, b: Bound, comparer: VersionComparer): number {
  if (isZero(a) || isZero(b)) {
    return Number(!isZero(a)) - Number(!isZero(b));
  }

  return comparer.compare(a.version, b.version);
}

function isZero(bound: Bound): boolean {
  return bound.kind === 'introduced' && bound.version === '0';
}

function sameVersion(listed: string, version: string, comparer: VersionComparer): boolean {
  if (listed === version) {
    return true;
  }

  return comparer.isValid(listed) && comparer.compare(listed, version) === 0;
}

// ">=3.7.0 <4.17.19" style, for rationales and reports.
export function describeInterval(interval: VersionInterval): string {
  const lower = `>=${interval.introduced}`;
  if (interval.fixed !== undefined) return `${lower} <${interval.fixed}`;
  if (interval.lastAffected !== undefined) return `${lower} <=${interval.lastAffected}`;

  return lower;
}
