import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parse } from 'yaml';
import type { ExportAdapter } from '../../adapters/export-adapter.js';
import { mirrorDeltaAdapter } from '../../adapters/mirror/mirror-delta-adapter.js';
import { mirrorFullAdapter } from '../../adapters/mirror/mirror-full-adapter.js';
import { canonicalJson } from '../../bundle/canonical-json.js';
import { digestFile, removeQuietly } from '../../bundle/files.js';
import { ingestPaths } from '../../ingest/ingest-paths.js';
import { newRunId } from '../../platform/ids.js';
import { migrateDatabase, openDatabase, type Database } from '../../store/database.js';
import { planRunInputs } from '../../store/export-plan.js';
import { RunRecordSource } from '../../store/export-records.js';
import { EVIDENCE } from '../support/export-stack.js';
import { startPostgres, type PostgresServer } from '../support/postgres.js';
import { writeEvidenceChanges } from '../unit/mirror/evidence-changes.js';

// mirror:delta compares two plans with hand-written SQL (record-id merges, document look-ups)
// that must mean the same on both stores: the same evidence and changes on SQLite and on
// PostgreSQL must give the same delta files.
const TENANT = 'default';
const EXCLUDED = 'GHSA-29mw-wpgm-hmr9'; // planned in the base, filtered out of the delta

interface DeltaBundle {
  files: Map<string, Buffer>;
  manifest: Record<string, unknown>;
}

describe('mirror:delta store queries', { timeout: 300_000 }, () => {
  let postgres: PostgresServer | { reason: string };
  let work: string;

  before(async () => {
    postgres = await startPostgres();
    work = await mkdtemp(path.join(os.tmpdir(), 'stella-delta-store-'));
  });

  after(async () => {
    if ('url' in postgres) {
      await postgres.stop();
    }
    await removeQuietly(work);
  });

  describe('write', () => {
    describe('when the store is PostgreSQL', () => {
      it('returns the same delta files and counts as the SQLite store', async (t) => {
        if (!('url' in postgres)) {
          t.skip(postgres.reason);

          return;
        }
        const changes = await writeEvidenceChanges(path.join(work, 'changes'));
        const onSqlite = await deltaBundle(`file:${path.join(work, 'sqlite', 'stella.db')}`, work, changes);
        const onPostgres = await deltaBundle(postgres.url, path.join(work, 'pg'), changes);

        assert.deepEqual([...onPostgres.files.keys()], [...onSqlite.files.keys()]);
        for (const [name, bytes] of onSqlite.files) {
          assert.ok(bytes.equals(onPostgres.files.get(name)!), `${name} differs`);
        }
        assert.deepEqual(onPostgres.manifest, onSqlite.manifest);
        assert.deepEqual(onSqlite.manifest.counts, {
          advisories: 3,
          advisoriesAdded: 1,
          advisoriesChanged: 2,
          advisoriesRemoved: 1,
          rawDocuments: 5,
          removedDocuments: 1,
          sboms: 1,
          sbomsAdded: 1,
          sbomsChanged: 0,
          sbomsRemoved: 0,
          vexStatements: 2, // the new OpenVEX document's statement names two products
          vexAdded: 2,
          vexChanged: 0,
          vexRemoved: 0,
        });
      });
    });
  });
});

// Full mirror over the shipped fixtures, then the changes, then a delta without EXCLUDED.
async function deltaBundle(databaseUrl: string, dir: string, changes: string): Promise<DeltaBundle> {
  await migrateDatabase(databaseUrl);
  const db = await openDatabase(databaseUrl);
  try {
    await ingestPaths(db, TENANT, [EVIDENCE]);
    const full = await run(db, dir, mirrorFullAdapter, {});
    await ingestPaths(db, TENANT, [changes]);
    const delta = await run(db, dir, mirrorDeltaAdapter, { excludeAdvisoryIds: [EXCLUDED] }, full);

    return await readBundle(delta.bundleDir);
  } finally {
    await db.$disconnect();
  }
}

interface Run {
  runId: string;
  bundleDir: string;
}

async function run(
  db: Database,
  dir: string,
  adapter: ExportAdapter,
  filters: Record<string, unknown>,
  base?: Run,
): Promise<Run> {
  const runId = newRunId(TENANT);
  await db.exportRun.create({
    data: {
      id: runId,
      tenant: TENANT,
      profileId: `prof_${adapter.kind.replace(':', '_')}`,
      profileKind: adapter.kind,
      trigger: 'api',
      state: 'writing',
      filters: canonicalJson(filters),
      options: canonicalJson({ baseRunId: base?.runId }),
      workflowId: runId,
      createdAt: new Date(),
    },
  });
  await planRunInputs(db, TENANT, runId, filters);
  const bundleDir = path.join(dir, 'bundles', runId);
  await mkdir(bundleDir, { recursive: true });
  await adapter.write({
    stagingDir: bundleDir,
    source: new RunRecordSource(db, TENANT, runId),
    profileConfig: {},
    runOptions: { baseRunId: base?.runId },
    base: base && {
      runId: base.runId,
      bundleDir: base.bundleDir,
      manifestSha256: (await digestFile(path.join(base.bundleDir, 'manifest.yaml'))).sha256,
    },
    now: new Date(0),
    completed: new Map(),
    onFileDone: () => undefined,
    onProgress: () => undefined,
  });

  return { runId, bundleDir };
}

// Every file but manifest.yaml and README.md (they name the runs, whose ids differ), and the
// manifest without those ids.
async function readBundle(bundleDir: string): Promise<DeltaBundle> {
  const entries = await readdir(bundleDir, { recursive: true, withFileTypes: true });
  const names = entries
    .filter((entry) => entry.isFile())
    .map((entry) => path.relative(bundleDir, path.join(entry.parentPath, entry.name)))
    .filter((name) => name !== 'manifest.yaml' && name !== 'README.md')
    .sort();
  const files = new Map<string, Buffer>();
  for (const name of names) {
    files.set(name, await readFile(path.join(bundleDir, name)));
  }
  const text = await readFile(path.join(bundleDir, 'manifest.yaml'), 'utf8');
  const manifest = parse(text) as Record<string, unknown>;
  delete manifest.base_export_id;
  delete manifest.base_manifest_sha256;

  return { files, manifest };
}
