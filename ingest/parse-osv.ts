import type {
  AffectedPackage,
  AffectedRange,
  NormalizedAdvisory,
  RangeEvent,
  Reference,
  Severity,
} from '../domain/records.js';
import {
  malformed,
  objectsOf,
  optionalObject,
  optionalString,
  requiredString,
  stringsOf,
  type JsonObject,
} from './read-fields.js';
import { dropUndefined, readPurl, readTimestamp, sortedUnique } from './normalize-values.js';

// OSV schema: https://ossf.github.io/osv-schema/. GHSA, Go vulndb and PyPA all publish
// in it; only `database_specific` differs between them.
export function normalizeOsvAdvisory(doc: JsonObject): NormalizedAdvisory {
  const id = optionalString(doc, 'id', 'OSV advisory');
  if (id === undefined || id === '') throw malformed('OSV advisory has no id');

  const where = `OSV advisory ${id}`;
  const databaseSpecific = optionalObject(doc, 'database_specific', where) ?? {};
  const specificWhere = `${where} database_specific`;

  return dropUndefined({
    id,
    aliases: sortedUnique(stringsOf(doc, 'aliases', where)),
    source: sourceOf(id),
    summary: optionalString(doc, 'summary', where),
    details: optionalString(doc, 'details', where),
    severity: listOf(doc, 'severity', where, severityOf),
    severityLevel: optionalString(databaseSpecific, 'severity', specificWhere)?.toUpperCase(),
    cwes: sortedUnique(stringsOf(databaseSpecific, 'cwe_ids', specificWhere)),
    references: listOf(doc, 'references', where, referenceOf),
    affected: listOf(doc, 'affected', where, affectedOf),
    published: readTimestamp(doc, 'published', where),
    modified: readTimestamp(doc, 'modified', where),
    withdrawn: readTimestamp(doc, 'withdrawn', where),
  });
}

export function isGithubAdvisory(doc: JsonObject): boolean {
  const databaseSpecific = doc.database_specific;
  const reviewed =
    typeof databaseSpecific === 'object' &&
    databaseSpecific !== null &&
    'github_reviewed' in databaseSpecific;

  return reviewed || (typeof doc.id === 'string' && doc.id.startsWith('GHSA-'));
}

function sourceOf(id: string): string {
  if (id.startsWith('GHSA-')) return 'ghsa';

  if (id.startsWith('GO-')) return 'govulndb';

  if (id.startsWith('PYSEC-')) return 'pypa';

  return 'osv';
}

function listOf<T>(
  doc: JsonObject,
  key: string,
  where: string,
  read: (entry: JsonObject, where: string) => T,
): T[] {
  const entries = objectsOf(doc, key, where);

  return entries.map((entry, index) => read(entry, `${where} ${key}[${index}]`));
}

function severityOf(entry: JsonObject, where: string): Severity {
  return {
    type: requiredString(entry, 'type', where),
    score: requiredString(entry, 'score', where),
  };
}

function referenceOf(entry: JsonObject, where: string): Reference {
  return {
    type: requiredString(entry, 'type', where),
    url: requiredString(entry, 'url', where),
  };
}

// OSV allows an entry without `package` only for GIT ranges of a bare repository; such an
// entry has no ecosystem or name to report, so both stay empty strings.
function affectedOf(entry: JsonObject, where: string): AffectedPackage {
  const pkg = optionalObject(entry, 'package', where) ?? {};
  const packageWhere = `${where}.package`;
  const ranges = listOf(entry, 'ranges', where, rangeOf);

  return dropUndefined({
    ecosystem: optionalString(pkg, 'ecosystem', packageWhere) ?? '',
    name: optionalString(pkg, 'name', packageWhere) ?? '',
    purl: readPurl(pkg, 'purl', packageWhere),
    ranges,
    versions: stringsOf(entry, 'versions', where),
    fixed: ranges.flatMap((range) => range.events.flatMap(fixedVersionOf)),
  });
}

function fixedVersionOf(event: RangeEvent): string[] {
  return 'fixed' in event ? [event.fixed] : [];
}

function rangeOf(entry: JsonObject, where: string): AffectedRange {
  return {
    type: requiredString(entry, 'type', where),
    events: listOf(entry, 'events', where, eventOf),
  };
}

const EVENT_KINDS = ['introduced', 'fixed', 'last_affected', 'limit'] as const;

function eventOf(event: JsonObject, where: string): RangeEvent {
  const kind = EVENT_KINDS.find((k) => event[k] !== undefined);
  if (kind === undefined) {
    throw malformed(`${where} has none of introduced, fixed, last_affected, limit`);
  }

  const value = requiredString(event, kind, where);

  return { [kind]: value } as RangeEvent;
}
