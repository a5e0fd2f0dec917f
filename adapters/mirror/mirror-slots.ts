import { createHash } from 'node:crypto';
import type { MirrorKind } from './mirror-layout.js';

// A slot is what a mirror adds, changes or removes as one unit: all records of one advisory
// id, of one vulnerability × product pair, or of one SBOM subject. Records are never merged;
// a slot holds each distinct record once, ordered by its hash.

export interface SlotRecord {
  key: string;
  source: string;
  modified: string | null;
  canonical: string;
  sha256: string;
  documentSha256: string;
}

export interface Slot<R extends SlotRecord = SlotRecord> {
  key: string;
  records: R[];
  digest: string;
}

// Groups records that arrive slot by slot (plan order) and keeps the effective ones.
export async function* slotsOf<R extends SlotRecord>(
  kind: MirrorKind,
  records: AsyncIterable<R>,
): AsyncGenerator<Slot<R>> {
  let pending: R[] = [];
  for await (const record of records) {
    if (pending.length > 0 && pending[0].key !== record.key) {
      yield makeSlot(kind, pending);
      pending = [];
    }
    pending.push(record);
  }
  if (pending.length > 0) {
    yield makeSlot(kind, pending);
  }
}

export function makeSlot<R extends SlotRecord>(kind: MirrorKind, records: R[]): Slot<R> {
  const effective = effectiveRecords(kind, records);

  return { key: records[0].key, records: effective, digest: slotDigest(effective) };
}

// An advisory feed republishes an advisory under the same id when it changes; the mirror
// keeps, per feed, the versions with the latest `modified` (all of them on a tie, since
// neither can be preferred). Records from different feeds all stay. VEX statements and
// SBOMs have no such ordering and are all kept.
export function effectiveRecords<R extends SlotRecord>(kind: MirrorKind, records: R[]): R[] {
  const distinct = [...new Map(records.map((r) => [r.sha256, r])).values()];
  const kept = kind === 'advisories' ? latestPerSource(distinct) : distinct;

  return kept.sort((a, b) => compareText(a.sha256, b.sha256));
}

function latestPerSource<R extends SlotRecord>(records: R[]): R[] {
  const latest = new Map<string, number>();
  for (const record of records) {
    const time = timeOf(record);
    latest.set(record.source, Math.max(latest.get(record.source) ?? -Infinity, time));
  }

  return records.filter((record) => timeOf(record) === latest.get(record.source));
}

function timeOf(record: SlotRecord): number {
  const time = record.modified ? Date.parse(record.modified) : NaN;

  return Number.isNaN(time) ? -Infinity : time;
}

// sha256 over the slot's record hashes, one a line.
export function slotDigest(records: SlotRecord[]): string {
  const hash = createHash('sha256');
  for (const record of records) {
    hash.update(`${record.sha256}\n`);
  }

  return hash.digest('hex');
}

// The digest of a whole mirror kind: sha256 over "key TAB slot digest" lines in byte order
// of the keys. A full mirror records it; a reader recomputes it after every import.
export class StateDigest {
  private readonly hash = createHash('sha256');
  private last: string | undefined;

  add(key: string, digest: string): void {
    if (this.last !== undefined && compareText(this.last, key) >= 0) {
      throw new Error(`slot keys out of order: ${JSON.stringify(this.last)} then ${JSON.stringify(key)}`);
    }
    this.last = key;
    this.hash.update(`${key}\t${digest}\n`);
  }

  digest(): string {
    return this.hash.digest('hex');
  }
}

// Byte order of the UTF-8 encodings: the order the store plans records in.
export function compareText(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}
