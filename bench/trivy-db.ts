// Trivy DB build time and peak RSS for one worker, on advisories synthesized from the real
// fixture shapes, against the bbolt library itself writing the same keys.
//
//   npm run bench -- trivy-db                       (100,000 and 300,000 advisories)
//   STELLA_BENCH_TRIVY_ADVISORIES=1000000 npm run bench -- trivy-db
//
// Per size, each measurement in its own process:
//   build   buildTrivyDb reading the advisories back from a JSONL file written beforehand
//           (not timed): line split + JSON.parse, planning, external sort, the forward-only
//           bbolt writer, the read-back check, metadata.json and db.tar.gz.
//   parts   pieces of that build measured again alone (parse, read-back check, gzip, our
//           writer fed the keys of the built trivy.db); the rest is planning and the sort.
//   bbolt   bench/peers/bbolt-rewrite (bbolt v1.5.0, built once into .tools/bin) copying the
//           built trivy.db into a new file through ordinary read-write transactions, write
//           side timed: 1,000 and 10,000 puts per db.Update (STELLA_BENCH_TRIVY_BBOLT_BATCHES)
//           and, up to STELLA_BENCH_TRIVY_ONE_TX_MAX advisories (default 100,000; it holds
//           the whole DB in memory), one transaction.
// Ratios: our whole build over bbolt's write ("build"), our writer alone over it ("writer").
import { execFile, spawnSync } from 'node:child_process';
import { createReadStream, createWriteStream, existsSync, renameSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { once } from 'node:events';
import { promisify } from 'node:util';
import type { NormalizedAdvisory } from '../domain/records.js';
import { buildTrivyDb } from '../adapters/trivy/build-trivy-db.js';
import { writeDbArchive } from '../adapters/trivy/db-archive.js';
import { walkBbolt } from '../bbolt/reader.js';
import { BboltWriter } from '../bbolt/writer.js';
import { loadRealAdvisories, synthesizeAdvisories } from '../test/support/synthetic-advisories.js';

const execFileAsync = promisify(execFile);
const here = path.dirname(fileURLToPath(import.meta.url));
const peerDir = path.join(here, 'peers', 'bbolt-rewrite');
const peerBinary = path.join(here, '..', '.tools', 'bin', 'bbolt-rewrite');
const BUILD_NOW = new Date('2026-01-01T00:00:00Z');
// Puts per transaction for the bbolt peer; on this data 1,000 was its fastest (fewer pages
// rewritten per commit than with bigger batches, fewer fsyncs than with smaller ones).
const BBOLT_BATCHES = (process.env.STELLA_BENCH_TRIVY_BBOLT_BATCHES ?? '1000,10000').split(',').map(Number);

interface BuildMeasure {
  advisories: number;
  seconds: number;
  maxRssMb: number;
  dbBytes: number;
  entries: number;
}

interface PartMeasure {
  seconds: number;
  maxRssMb: number;
}

interface WriterMeasure extends PartMeasure {
  bytes: number;
}

interface RewriteMeasure {
  seconds: number;
  keys: number;
  buckets: number;
  transactions: number;
  bytes: number;
  maxRssMb: number;
}

if (process.argv[2] === '--build') {
  await buildChild(process.argv[3], process.argv[4]);
} else if (process.argv[2] === '--writer') {
  await writerChild(process.argv[3], process.argv[4]);
} else if (process.argv[2] === '--parse') {
  await parseChild(process.argv[3]);
} else if (process.argv[2] === '--walk') {
  walkChild(process.argv[3]);
} else if (process.argv[2] === '--archive') {
  await archiveChild(process.argv[3], process.argv[4]);
} else {
  await main();
}

async function main() {
  const sizes = (process.env.STELLA_BENCH_TRIVY_ADVISORIES ?? '100000,300000').split(',').map(Number);
  const oneTxMax = Number(process.env.STELLA_BENCH_TRIVY_ONE_TX_MAX ?? 100_000);
  const peer = await ensurePeer();
  console.log(`load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}, ${os.cpus().length} CPUs`);
  for (const count of sizes) {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'stella-bench-trivy-'));
    try {
      await measureSize(dir, count, 'path' in peer ? peer.path : undefined, count <= oneTxMax);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
  if ('reason' in peer) console.log(`   bbolt peer skipped: ${peer.reason}`);
}

async function measureSize(dir: string, count: number, peer: string | undefined, oneTx: boolean) {
  const input = path.join(dir, 'advisories.jsonl');
  await synthesizeLines(input, count);
  const outDir = path.join(dir, 'out');
  const build = child<BuildMeasure>(['--build', input, outDir]);
  reportBuild(count, build);
  const dbPath = path.join(outDir, 'trivy.db');
  const parts = [
    reportPart(count, '  of which: read + JSON.parse the input', child(['--parse', input])),
    reportPart(count, '  of which: read-back check (walkBbolt)', child(['--walk', dbPath])),
    reportPart(count, '  of which: db.tar.gz (gzip -9)', child(['--archive', outDir, dir])),
  ];
  const writer = child<WriterMeasure>(['--writer', dbPath, path.join(dir, 'rewrite-ours.db')]);
  parts.push(reportPart(count, '  of which: our bbolt writer, same keys', writer));
  const rest = build.seconds - parts.reduce((sum, m) => sum + m.seconds, 0);
  console.log(`${String(count).padStart(8)}  ${'  rest: plan + external sort + merge'.padEnd(42)} ` +
    `${rest.toFixed(2).padStart(7)} s  (build minus the parts above)`);
  if (!peer) return;

  let copied: RewriteMeasure | undefined;
  for (const batch of [...BBOLT_BATCHES, ...(oneTx ? [0] : [])]) {
    copied = await rewrite(peer, dbPath, path.join(dir, 'rewrite-bbolt.db'), batch);
    const label = batch ? `${batch.toLocaleString('en-US')} puts per db.Update` : 'one transaction';
    reportRewrite(count, `bbolt v1.5.0, ${label}`, copied, build, writer);
  }
  console.log(`   ${count} advisories → ${copied?.keys.toLocaleString('en-US')} keys in ` +
    `${copied?.buckets.toLocaleString('en-US')} buckets, input JSONL ${mb(statSync(input).size)}`);
}

function reportBuild(count: number, m: BuildMeasure) {
  const rate = Math.round(m.advisories / m.seconds).toLocaleString('en-US');
  const label = 'buildTrivyDb (parse → trivy.db + tar.gz)';
  console.log(`${String(count).padStart(8)}  ${label.padEnd(42)} ${m.seconds.toFixed(2).padStart(7)} s  ` +
    `${rate.padStart(7)} advisories/s  peak RSS ${m.maxRssMb.toFixed(0)} MB  trivy.db ${mb(m.dbBytes)}`);
}

// A part of the build measured again on its own, in its own process.
function reportPart(count: number, label: string, m: PartMeasure): PartMeasure {
  console.log(`${String(count).padStart(8)}  ${label.padEnd(42)} ${m.seconds.toFixed(2).padStart(7)} s  ` +
    `peak RSS ${m.maxRssMb.toFixed(0)} MB`);

  return m;
}

function reportRewrite(count: number, label: string, m: RewriteMeasure, build: BuildMeasure, writer: WriterMeasure) {
  const ratios = `ours/bbolt ${ratio(build, m)} build, ${ratio(writer, m)} writer`;
  console.log(`${String(count).padStart(8)}  ${label.padEnd(42)} ${m.seconds.toFixed(2).padStart(7)} s  ` +
    `${ratios}  ${m.transactions} tx  peak RSS ${m.maxRssMb.toFixed(0)} MB  file ${mb(m.bytes)}`);
}

function ratio(ours: { seconds: number }, bbolt: { seconds: number }): string {
  return (ours.seconds / bbolt.seconds).toFixed(2);
}

function mb(bytes: number): string {
  return `${(bytes / 1e6).toFixed(0)} MB`;
}

function child<T>(args: string[]): T {
  const self = fileURLToPath(import.meta.url);
  const result = spawnSync(process.execPath, ['--import', 'tsx', self, ...args], { encoding: 'utf8', maxBuffer: 1 << 24 });
  if (result.status !== 0) {
    throw new Error(`bench child ${args[0]} failed: ${result.stderr}`);
  }

  return JSON.parse(result.stdout.trim().split('\n').pop()!) as T;
}

async function rewrite(peer: string, source: string, target: string, batch: number): Promise<RewriteMeasure> {
  const { stdout } = await execFileAsync(peer, ['-batch', String(batch), source, target]);
  await rm(target, { force: true });

  return JSON.parse(stdout) as RewriteMeasure;
}

// Builds the peer once into .tools/bin, again only when its sources are newer than the binary.
async function ensurePeer(): Promise<{ path: string } | { reason: string }> {
  const sources = ['main.go', 'go.mod', 'go.sum'].map((f) => statSync(path.join(peerDir, f)).mtimeMs);
  if (existsSync(peerBinary) && sources.every((m) => m <= statSync(peerBinary).mtimeMs)) {
    return { path: peerBinary };
  }

  const temp = `${peerBinary}.${process.pid}`;
  try {
    await mkdir(path.dirname(peerBinary), { recursive: true });
    await execFileAsync('go', ['build', '-o', temp, '.'], { cwd: peerDir, timeout: 600_000 });
    renameSync(temp, peerBinary);
  } catch (err) {
    return { reason: `cannot build ${peerDir}: ${(err as Error).message}` };
  }

  return { path: peerBinary };
}

async function synthesizeLines(file: string, count: number) {
  const shapes = await loadRealAdvisories();
  const out = createWriteStream(file);
  for (const advisory of synthesizeAdvisories(shapes, count)) {
    if (!out.write(JSON.stringify(advisory) + '\n')) {
      await once(out, 'drain');
    }
  }
  out.end();
  await once(out, 'finish');
}

// A plain newline splitter over large reads: the input side must not be the bottleneck.
async function* advisoriesOf(file: string): AsyncGenerator<NormalizedAdvisory> {
  let rest = '';
  for await (const chunk of createReadStream(file, { encoding: 'utf8', highWaterMark: 1 << 20 })) {
    const lines = (rest + (chunk as string)).split('\n');
    rest = lines.pop()!;
    for (const line of lines) yield JSON.parse(line) as NormalizedAdvisory;
  }
  if (rest) {
    yield JSON.parse(rest) as NormalizedAdvisory;
  }
}

async function buildChild(input: string, outDir: string) {
  let advisories = 0;
  const counted = async function* () {
    for await (const advisory of advisoriesOf(input)) {
      advisories += 1;
      yield advisory;
    }
  };
  const start = process.hrtime.bigint();
  const result = await buildTrivyDb({ advisories: counted(), outDir, now: BUILD_NOW, workDir: path.dirname(outDir) });
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  const dbBytes = result.files.find((f) => f.path === 'trivy.db')!.size;
  const entries = Object.values(result.counts).reduce((sum, n) => sum + n, 0);
  emit({ advisories, seconds, dbBytes, entries });
}

// Our forward-only writer fed the keys of the built trivy.db in the order our reader walks
// them; only the writer's calls are timed, so this is the like-for-like figure against the
// bbolt library's write side.
async function writerChild(source: string, target: string) {
  let spent = 0;
  const timed = <T>(call: () => T): T => {
    const start = performance.now();
    const result = call();
    spent += performance.now() - start;

    return result;
  };
  const writer = await timed(() => BboltWriter.create(target));
  walkBbolt(source, {
    enterBucket: (names) => timed(() => writer.openBucket(names[names.length - 1])),
    value: (_names, key, value) => timed(() => writer.put(key, value)),
    leaveBucket: () => timed(() => writer.closeBucket()),
  });
  const closing = performance.now();
  const written = await writer.close();
  spent += performance.now() - closing;
  emit({ seconds: spent / 1000, bytes: written.size });
}

async function parseChild(input: string) {
  const start = performance.now();
  let advisories = 0;
  for await (const advisory of advisoriesOf(input)) advisories += advisory.id ? 1 : 0;
  emit({ seconds: (performance.now() - start) / 1000, advisories });
}

function walkChild(dbPath: string) {
  const start = performance.now();
  let values = 0;
  walkBbolt(dbPath, { value: () => (values += 1) });
  emit({ seconds: (performance.now() - start) / 1000, values });
}

async function archiveChild(outDir: string, scratch: string) {
  const files = ['trivy.db', 'metadata.json'].map((f) => path.join(outDir, f));
  const start = performance.now();
  await writeDbArchive(path.join(scratch, 'db.tar.gz'), files, BUILD_NOW);
  emit({ seconds: (performance.now() - start) / 1000 });
}

function emit(measure: object) {
  const maxRssMb = process.resourceUsage().maxRSS / 1024;
  process.stdout.write(JSON.stringify({ ...measure, maxRssMb }) + '\n');
}
