import type { AdapterIdentity } from '../schema-guard.js';
import { RecordGuard } from '../schema-guard.js';
import type { EmittedRecordType } from '../record-schemas.js';
import type { MirrorKind } from './mirror-layout.js';
import type { PlannedRecord } from '../../store/mirror-queries.js';

// Mirrors read their records through their own queries rather than the run's record
// source, so the shared drift check is applied here, to the canonical line each part emits.

const RECORD_TYPE: Record<MirrorKind, EmittedRecordType> = {
  advisories: 'advisory',
  vex: 'vexStatement',
  sboms: 'sbom',
};

export function mirrorRecordGuard(adapter: AdapterIdentity, kind: MirrorKind): RecordGuard {
  return new RecordGuard(adapter, RECORD_TYPE[kind]);
}

export async function* checkedPlanRecords<T extends PlannedRecord>(
  guard: RecordGuard,
  records: AsyncIterable<T>,
): AsyncGenerator<T> {
  for await (const record of records) {
    guard.line(record.canonical);
    yield record;
  }
}
