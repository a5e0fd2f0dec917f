import { mkdir, mkdtemp, readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { AdapterOutput, ExportAdapter } from '../../../adapters/export-adapter.js';
import { canonicalJson } from '../../../bundle/canonical-json.js';
import { digestFile, removeQuietly, writeFileAtomic } from '../../../bundle/files.js';
import {
  JWKS_PATH,
  MANIFEST_PATH,
  MANIFEST_SCHEMA,
  PROVENANCE_PATH,
  SIGNATURE_PATH,
  type ExportManifest,
} from '../../../bundle/manifest.js';
import { buildProvenance } from '../../../bundle/provenance.js';
import { ingestPaths } from '../../../ingest/ingest-paths.js';
import { newRunId } from '../../../platform/ids.js';
import { loadLocalSigner } from '../../../signing/local-key-signer.js';
import type { Signer } from '../../../signing/signer.js';
import { migrateDatabase, openDatabase, type Database } from '../../../store/database.js';
import { planRunInputs } from '../../../store/export-plan.js';
import { RunRecordSource } from '../../../store/export-records.js';
import type { ExportFilters } from '../../../domain/filters.js';

// A real SQLite store in a temp folder and the plan → write → sign steps of a run without
// Temporal: enough to drive the mirror adapters and the reader in unit tests.

export interface SealedRun {
  runId: string;
  bundleDir: string;
  output: AdapterOutput;
  manifestSha256: string;
}

export interface MirrorTestStore {
  dir: string;
  db: Database;
  tenant: string;
  signer: Signer;
  keysDir: string;
  ingest(paths: string[]): Promise<void>;
  run(adapter: ExportAdapter, options?: RunOptions): Promise<SealedRun>;
  // Re-signs a bundle folder after a test changed listed files: export.json takes the new
  // hashes and sizes, so the bundle verifies again whatever the change.
  reseal(bundleDir: string): Promise<void>;
  close(): Promise<void>;
}

export interface RunOptions {
  base?: SealedRun;
  filters?: ExportFilters;
  profileConfig?: Record<string, unknown>;
}

export async function openMirrorTestStore(): Promise<MirrorTestStore> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'stella-mirror-unit-'));
  const databaseUrl = `file:${path.join(dir, 'stella.db')}`;
  await migrateDatabase(databaseUrl);
  const db = await openDatabase(databaseUrl);
  const keysDir = path.join(dir, 'keys');
  const signer = await loadLocalSigner({ keysDir });
  const tenant = 'default';

  return {
    dir,
    db,
    tenant,
    signer,
    keysDir,
    ingest: async (paths) => {
      await ingestPaths(db, tenant, paths);
    },
    run: (adapter, options = {}) => runAdapter({ dir, db, tenant, signer }, adapter, options),
    reseal: (bundleDir) => reseal(signer, bundleDir),
    close: async () => {
      await db.$disconnect();
      await removeQuietly(dir);
    },
  };
}

interface StoreParts {
  dir: string;
  db: Database;
  tenant: string;
  signer: Signer;
}

async function runAdapter(store: StoreParts, adapter: ExportAdapter, options: RunOptions): Promise<SealedRun> {
  const runId = newRunId(store.tenant);
  const filters = options.filters ?? {};
  await store.db.exportRun.create({
    data: {
      id: runId,
      tenant: store.tenant,
      profileId: `prof_${adapter.kind.replace(':', '_')}`,
      profileKind: adapter.kind,
      trigger: 'api',
      state: 'writing',
      filters: canonicalJson(filters),
      options: canonicalJson({ baseRunId: options.base?.runId }),
      workflowId: runId,
      createdAt: new Date(),
    },
  });
  await planRunInputs(store.db, store.tenant, runId, filters);
  const bundleDir = path.join(store.dir, 'bundles', runId);
  await mkdir(bundleDir, { recursive: true });
  const output = await adapter.write({
    stagingDir: bundleDir,
    source: new RunRecordSource(store.db, store.tenant, runId),
    profileConfig: options.profileConfig ?? {},
    runOptions: { baseRunId: options.base?.runId },
    base: options.base
      ? { runId: options.base.runId, bundleDir: options.base.bundleDir, manifestSha256: options.base.manifestSha256 }
      : undefined,
    now: new Date(),
    completed: new Map(),
    onFileDone: () => undefined,
    onProgress: () => undefined,
  });
  const manifestSha256 = await seal(store, { runId, bundleDir, output, base: options.base, kind: adapter.kind, filters });
  await store.db.exportRun.update({ where: { id: runId }, data: { state: 'succeeded', manifestSha256 } });

  return { runId, bundleDir, output, manifestSha256 };
}

// What the sign activity does: provenance, export.json, its signature and the key set.
async function seal(
  store: StoreParts,
  run: { runId: string; bundleDir: string; output: AdapterOutput; base?: SealedRun; kind: string; filters: ExportFilters },
): Promise<string> {
  const provenance = buildProvenance({
    runId: run.runId,
    workflowId: run.runId,
    tenant: store.tenant,
    profile: { id: 'test', kind: run.kind },
    filters: run.filters,
    adapter: { name: 'test', version: '0' },
    schemaVersions: run.output.schemaVersions,
    files: run.output.files,
    lineage: {},
    documents: [],
    builderVersion: '0',
  });
  const provenancePath = path.join(run.bundleDir, PROVENANCE_PATH);
  await writeFileAtomic(provenancePath, canonicalJson(provenance) + '\n');
  const provenanceFile = { path: PROVENANCE_PATH, mediaType: 'application/json', ...(await digestFile(provenancePath)) };
  const manifest: ExportManifest = {
    schema: MANIFEST_SCHEMA,
    runId: run.runId,
    tenant: store.tenant,
    profile: { id: 'test', kind: run.kind },
    filters: run.filters,
    trigger: 'api',
    schemaVersions: run.output.schemaVersions,
    adapter: { name: 'test', version: '0' },
    counts: run.output.counts,
    ...(run.base ? { base: { runId: run.base.runId, manifestSha256: run.base.manifestSha256 } } : {}),
    files: [...run.output.files, provenanceFile].sort((a, b) => a.path.localeCompare(b.path)),
    inputs: [],
    startedAt: new Date(0).toISOString(),
    finishedAt: new Date(0).toISOString(),
    generator: { name: 'test', version: '0' },
  };
  const bytes = Buffer.from(canonicalJson(manifest) + '\n', 'utf8');
  await writeFileAtomic(path.join(run.bundleDir, MANIFEST_PATH), bytes);
  await writeFileAtomic(path.join(run.bundleDir, SIGNATURE_PATH), (await store.signer.signDetached(bytes)) + '\n');
  const jwks = { keys: [await store.signer.publicJwk()] };
  await writeFileAtomic(path.join(run.bundleDir, JWKS_PATH), canonicalJson(jwks) + '\n');

  return (await digestFile(path.join(run.bundleDir, MANIFEST_PATH))).sha256;
}

async function reseal(signer: Signer, bundleDir: string): Promise<void> {
  const manifestPath = path.join(bundleDir, MANIFEST_PATH);
  const manifest = JSON.parse(await readFile(manifestPath, 'utf8')) as ExportManifest;
  const dataFiles = manifest.files.filter((file) => file.path !== PROVENANCE_PATH);
  for (const file of dataFiles) {
    Object.assign(file, await digestFile(path.join(bundleDir, file.path)));
  }
  const provenancePath = path.join(bundleDir, PROVENANCE_PATH);
  const provenance = JSON.parse(await readFile(provenancePath, 'utf8')) as { subject: unknown };
  provenance.subject = dataFiles.map((file) => ({ name: file.path, digest: { sha256: file.sha256 } }));
  await writeFileAtomic(provenancePath, canonicalJson(provenance) + '\n');
  Object.assign(manifest.files.find((file) => file.path === PROVENANCE_PATH)!, await digestFile(provenancePath));
  const bytes = Buffer.from(canonicalJson(manifest) + '\n', 'utf8');
  await writeFileAtomic(manifestPath, bytes);
  await writeFileAtomic(path.join(bundleDir, SIGNATURE_PATH), (await signer.signDetached(bytes)) + '\n');
}
