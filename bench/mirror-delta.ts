// mirror:delta cost against the size of its base: a 5% change (half new advisories, half
// revisions of existing ones) over 100,000 and 1,000,000 synthetic advisories.
//
//   npm run bench -- mirror-delta
//   STELLA_BENCH_RECORDS=100000 npm run bench -- mirror-delta
//
// Each phase runs in its own process so that its peak RSS is its own: preparing the store
// and the base full mirror, planning the delta run (the spine's snapshot, which grows with
// the base), and the delta adapter's write (which should grow with the change set only).
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import BetterSqlite3 from 'better-sqlite3';
import type { ExportAdapter } from '../adapters/export-adapter.js';
import { mirrorDeltaAdapter } from '../adapters/mirror/mirror-delta-adapter.js';
import { mirrorFullAdapter } from '../adapters/mirror/mirror-full-adapter.js';
import { digestFile } from '../bundle/files.js';
import { canonicalJson } from '../bundle/canonical-json.js';
import { newRunId } from '../platform/ids.js';
import { migrateDatabase, openDatabase, type Database } from '../store/database.js';
import { advisoryLine, sha256Hex } from '../store/evidence-store.js';
import { planRunInputs } from '../store/export-plan.js';
import { RunRecordSource } from '../store/export-records.js';
import { insertSyntheticAdvisories, loadRealAdvisories, synthesizeAdvisories } from '../test/support/synthetic-advisories.js';

const TENANT = 'bench';
const CHANGE_SHARE = 0.05;

interface Started {
  at: number;
  cpu: NodeJS.CpuUsage;
}

interface PhaseResult {
  ms: number;
  cpuMs: number;
  rssMb: number;
  note: string;
}

interface BenchState {
  databaseUrl: string;
  baseRunId?: string;
  deltaRunId?: string;
}

const [mode, dirArg, countArg] = process.argv.slice(2);
if (mode === '--prepare') {
  await prepare(dirArg, Number(countArg));
} else if (mode === '--plan-delta') {
  await planDelta(dirArg);
} else if (mode === '--write-delta') {
  await writeDelta(dirArg);
} else {
  await main();
}

async function main() {
  const sizes = (process.env.STELLA_BENCH_RECORDS ?? '100000,1000000').split(',').map(Number);
  for (const count of sizes) {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'stella-bench-mirror-'));
    try {
      report(count, 'store + base full mirror', child(['--prepare', dir, String(count)]));
      report(count, 'plan delta run (spine snapshot)', child(['--plan-delta', dir]));
      report(count, 'mirror:delta write', child(['--write-delta', dir]));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
}

function child(args: string[]): PhaseResult {
  const self = fileURLToPath(import.meta.url);
  const result = spawnSync(process.execPath, ['--import', 'tsx', self, ...args], { encoding: 'utf8' });
  if (result.status !== 0) {
    throw new Error(`${args[0]} failed: ${result.stderr}`);
  }

  return JSON.parse(result.stdout.trim().split('\n').pop()!) as PhaseResult;
}

// CPU time (user + system, all threads) is printed beside the wall time: on a shared machine
// it is the steadier figure of the two.
function report(count: number, phase: string, result: PhaseResult) {
  const time = `${(result.ms / 1000).toFixed(2)} s`.padStart(9);
  const cpu = `${(result.cpuMs / 1000).toFixed(2)} s`.padStart(9);
  const rss = `${result.rssMb.toFixed(0)} MB`.padStart(8);
  const figures = `${time}  cpu ${cpu}  peak RSS ${rss}`;
  console.log(`${String(count).padStart(9)}  ${phase.padEnd(34)} ${figures}  ${result.note}`);
}

function start(): Started {
  return { at: Date.now(), cpu: process.cpuUsage() };
}

function finish(started: Started, note: string) {
  const rssMb = process.resourceUsage().maxRSS / 1024;
  const cpu = process.cpuUsage(started.cpu);
  const cpuMs = (cpu.user + cpu.system) / 1000;
  process.stdout.write(JSON.stringify({ ms: Date.now() - started.at, cpuMs, rssMb, note }) + '\n');
}

async function prepare(dir: string, count: number) {
  const started = start();
  const databaseUrl = `file:${path.join(dir, 'stella.db')}`;
  await migrateDatabase(databaseUrl);
  await insertSyntheticAdvisories(databaseUrl, TENANT, count);
  const db = await openDatabase(databaseUrl);
  const baseRunId = await plannedRun(db, mirrorFullAdapter);
  const output = await write(db, dir, mirrorFullAdapter, baseRunId);
  await db.$disconnect();
  await insertChanges(databaseUrl, count);
  await saveState(dir, { databaseUrl, baseRunId });
  finish(started, `${output.counts.advisories} advisories in the base`);
}

async function planDelta(dir: string) {
  const started = start();
  const state = await loadState(dir);
  const db = await openDatabase(state.databaseUrl);
  const deltaRunId = await plannedRun(db, mirrorDeltaAdapter, state.baseRunId);
  await db.$disconnect();
  await saveState(dir, { ...state, deltaRunId });
  finish(started, '');
}

async function writeDelta(dir: string) {
  const state = await loadState(dir);
  const db = await openDatabase(state.databaseUrl);
  const started = start();
  const output = await write(db, dir, mirrorDeltaAdapter, state.deltaRunId!, state.baseRunId);
  const c = output.counts;
  finish(started, `+${c.advisoriesAdded} ~${c.advisoriesChanged} -${c.advisoriesRemoved} advisories`);
  await db.$disconnect();
}

async function plannedRun(db: Database, adapter: ExportAdapter, baseRunId?: string): Promise<string> {
  const runId = newRunId(TENANT);
  await db.exportRun.create({
    data: {
      id: runId,
      tenant: TENANT,
      profileId: `prof_${adapter.kind.replace(':', '_')}`,
      profileKind: adapter.kind,
      trigger: 'api',
      state: 'writing',
      filters: '{}',
      options: canonicalJson({ baseRunId }),
      workflowId: runId,
      createdAt: new Date(),
    },
  });
  await planRunInputs(db, TENANT, runId, {});

  return runId;
}

async function write(db: Database, dir: string, adapter: ExportAdapter, runId: string, baseRunId?: string) {
  const stagingDir = path.join(dir, 'bundles', runId);
  await mkdir(stagingDir, { recursive: true });
  const baseDir = baseRunId ? path.join(dir, 'bundles', baseRunId) : undefined;

  return adapter.write({
    stagingDir,
    source: new RunRecordSource(db, TENANT, runId),
    profileConfig: {},
    runOptions: { baseRunId },
    base: baseRunId
      ? { runId: baseRunId, bundleDir: baseDir!, manifestSha256: (await digestFile(path.join(baseDir!, 'manifest.yaml'))).sha256 }
      : undefined,
    now: new Date(),
    completed: new Map(),
    onFileDone: () => undefined,
    onProgress: () => undefined,
  });
}

// 5% of the base: half new advisories, half revisions (same id, later `modified`) of
// existing ones, all in one new raw document.
async function insertChanges(databaseUrl: string, count: number) {
  const changes = Math.round(count * CHANGE_SHARE);
  const shapes = await loadRealAdvisories();
  const base = [...synthesizeAdvisories(shapes, Math.ceil(changes / 2))];
  const revised = base.map((a) => ({ ...a, summary: `${a.summary ?? ''} (revised)`, modified: '2031-01-01T00:00:00Z' }));
  const added = base.map((a) => ({ ...a, id: `${a.id}-NEW` }));
  const bytes = Buffer.from(`synthetic changes: ${changes}`);
  const documentSha256 = sha256Hex(bytes);
  const sqlite = new BetterSqlite3(databaseUrl.replace(/^file:/, ''));
  sqlite
    .prepare(`INSERT INTO raw_documents (id, tenant, sha256, mediaType, format, sourceUri, size, bytes, ingestedAt)
      VALUES ('doc_changes', ?, ?, 'application/json', 'osv', 'synthetic:changes', ?, ?, ?)`)
    .run(TENANT, documentSha256, bytes.length, bytes, new Date(0).toISOString());
  const insert = sqlite.prepare(`INSERT INTO advisories
    (id, tenant, documentId, advisoryId, aliases, source, cvssVectors, cwes, modified, canonical, sha256)
    VALUES (?, ?, 'doc_changes', ?, '[]', ?, '[]', '[]', ?, ?, ?)`);
  sqlite.transaction(() => {
    [...revised, ...added].forEach((advisory, i) => {
      const canonical = advisoryLine(advisory, documentSha256);
      const modified = advisory.modified ? new Date(advisory.modified).toISOString().replace('Z', '+00:00') : null;
      insert.run(`adv_chg_${i}`, TENANT, advisory.id, advisory.source, modified, canonical, sha256Hex(canonical));
    });
  })();
  sqlite.close();
}

async function saveState(dir: string, state: BenchState) {
  await writeFile(path.join(dir, 'state.json'), JSON.stringify(state));
}

async function loadState(dir: string): Promise<BenchState> {
  return JSON.parse(await readFile(path.join(dir, 'state.json'), 'utf8')) as BenchState;
}
