// Builds a Trivy vulnerability DB (schema 2) from normalised advisories:
// outDir/trivy.db (bbolt), outDir/metadata.json and outDir/db.tar.gz (both, for OCI pushes).
//
// Memory stays bounded for millions of advisories: each advisory is planned into bbolt
// entries that go through an external sort (sorted NDJSON runs in a work directory, then a
// k-way merge); entries with the same path are merged as they stream past, and the sorted
// stream feeds the forward-only bbolt writer. Only the data-source table (one row per bucket)
// and per-bucket counters are kept whole.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { StellaError } from '../../domain/errors.js';
import type { NormalizedAdvisory } from '../../domain/records.js';
import { walkBbolt } from '../../bbolt/reader.js';
import { writeDbArchive, writeTrivyMetadata } from './db-archive.js';
import type { TrivyDataSource } from './ecosystems.js';
import { ExternalSorter } from './external-sort.js';
import { type RecordPayload, type TreeCounts, writeTrivyTree } from './trivy-tree.js';
import {
  DATA_SOURCE_BUCKET,
  type PlannedRecord,
  VULNERABILITY_BUCKET,
  planAdvisory,
} from './plan-advisory.js';

// Bump when the same input would produce a different DB (recorded with every export).
export const TRIVY_MAPPING_VERSION = 'trivy-db-v2/1';

export interface TrivyDbBuildInput {
  advisories: AsyncIterable<NormalizedAdvisory>;
  outDir: string;
  now: Date;
  workDir?: string; // where sort runs go (default: the OS temp dir)
  sortBufferBytes?: number; // memory budget of the external sort (default 64 MiB)
}

export interface TrivyDbBuildResult {
  files: { path: string; sha256: string; size: number }[]; // path relative to outDir
  counts: Record<string, number>; // entries per top-level bucket
  skipped: Record<string, number>; // "withdrawn", "ecosystem:<OSV ecosystem>" → advisories
  mappingVersion: string;
}

const DEFAULT_SORT_BUFFER_BYTES = 64 * 1024 * 1024;
const FILE_NAMES = ['trivy.db', 'metadata.json', 'db.tar.gz'];

export async function buildTrivyDb(input: TrivyDbBuildInput): Promise<TrivyDbBuildResult> {
  await mkdir(input.outDir, { recursive: true });
  const workDir = await mkdtemp(join(input.workDir ?? tmpdir(), 'trivy-db-'));
  try {
    const { counts, skipped } = await writeDatabase(input, workDir);
    await writeTrivyMetadata(join(input.outDir, 'metadata.json'), input.now);
    const packed = FILE_NAMES.slice(0, 2).map((f) => join(input.outDir, f));
    await writeDbArchive(join(input.outDir, 'db.tar.gz'), packed, input.now);
    const files = await describeFiles(input.outDir);

    return { files, counts, skipped, mappingVersion: TRIVY_MAPPING_VERSION };
  } finally {
    await rm(workDir, { recursive: true, force: true });
  }
}

async function writeDatabase(
  input: TrivyDbBuildInput,
  workDir: string,
): Promise<{ counts: TreeCounts; skipped: Record<string, number> }> {
  const budget = input.sortBufferBytes ?? DEFAULT_SORT_BUFFER_BYTES;
  const sorter = new ExternalSorter<RecordPayload>(workDir, budget);
  const skipped = await planAll(input.advisories, sorter);
  const dbPath = join(input.outDir, 'trivy.db');
  const counts = await writeTrivyTree(dbPath, sorter.sorted());
  verifyTree(dbPath, counts);

  return { counts, skipped };
}

async function planAll(
  advisories: AsyncIterable<NormalizedAdvisory>,
  sorter: ExternalSorter<RecordPayload>,
): Promise<Record<string, number>> {
  const skipped: Record<string, number> = {};
  const dataSources = new Map<string, TrivyDataSource>();
  const count = (reason: string) => (skipped[reason] = (skipped[reason] ?? 0) + 1);
  for await (const advisory of advisories) {
    if (advisory.withdrawn) {
      count('withdrawn');
      continue;
    }

    const plan = withAdvisoryId(advisory.id, () => planAdvisory(advisory));
    plan.unsupportedEcosystems.forEach((ecosystem) => count(`ecosystem:${ecosystem}`));
    plan.dataSources.forEach((source, bucket) => dataSources.set(bucket, source));
    for (const record of plan.records)
      await sorter.add(record.path.join('\u0000'), payloadOf(record));
  }
  for (const [bucket, source] of dataSources) {
    await sorter.add(`${DATA_SOURCE_BUCKET}\u0000${bucket}`, { d: source });
  }

  return skipped;
}

function payloadOf(record: PlannedRecord): RecordPayload {
  if ('advisory' in record) return { a: record.advisory, id: record.advisoryId };

  return { v: record.vulnerability };
}

// Errors name the advisory so that a failed export points at the document to look at.
function withAdvisoryId<T>(id: string, plan: () => T): T {
  try {
    return plan();
  } catch (err) {
    if (!(err instanceof StellaError)) throw err;

    throw new StellaError(err.code, `advisory ${id}: ${err.message}`, {
      cause: err,
      details: { ...err.details, advisoryId: id },
    });
  }
}

// Post-build sanity check: read the file back and compare with what the plan wrote.
function verifyTree(dbPath: string, planned: TreeCounts): void {
  const found: Record<string, number> = {};
  const topLevel = new Set<string>();
  walkBbolt(dbPath, {
    enterBucket: (path) => path.length === 1 && topLevel.add(path[0].toString('utf8')),
    value: (path) => {
      const bucket = path[0].toString('utf8');
      found[bucket] = (found[bucket] ?? 0) + 1;
    },
  });
  const missing = [DATA_SOURCE_BUCKET, VULNERABILITY_BUCKET].filter((b) => !topLevel.has(b));
  const differing = Object.keys({ ...planned, ...found }).filter(
    (b) => (planned[b] ?? 0) !== (found[b] ?? 0),
  );
  if (missing.length === 0 && differing.length === 0) return;

  throw new StellaError('integrity_failed', 'trivy.db does not hold what the mapping planned', {
    details: { missingBuckets: missing, differingBuckets: differing },
  });
}

async function describeFiles(outDir: string): Promise<TrivyDbBuildResult['files']> {
  return Promise.all(
    FILE_NAMES.map(async (name) => {
      const path = join(outDir, name);
      const hash = createHash('sha256');
      for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);

      return { path: name, sha256: hash.digest('hex'), size: (await stat(path)).size };
    }),
  );
}
