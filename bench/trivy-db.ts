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
// Puts per transaction for the bbolt peer. Both are near its best on this data (100,000 per
// transaction was clearly slower: every commit rewrites more dirty pages).
const BBOLT_BATCHES = numbers(process.env.STELLA_BENCH_TRIVY_BBOLT_BATCHES ?? '1000,10000');
// The two writers take seconds and the machine they run on is often shared: each is run this
// many times and its fastest run reported, so that the ratio compares like with like.
const REPEATS = Number(process.env.STELLA_BENCH_TRIVY_REPEATS ?? 3);

interface BuildMeasure {
  advisories: number;
  seconds: number;
  maxRssMb: number;
  dbBytes: number;
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
  const sizes = numbers(process.env.STELLA_BENCH_TRIVY_ADVISORIES ?? '100000,300000');
  const oneTxMax = Number(process.env.STELLA_BENCH_TRIVY_ONE_TX_MAX ?? 100_000);
  const peer = await ensurePeer();
  const load = os.loadavg().map((l) => l.toFixed(2)).join(' ');
  console.log(`load average ${load}, ${os.cpus().length} CPUs; sizes in advisories, ` +
    'then seconds and peak RSS of each measurement');
  for (const count of sizes) {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'stella-bench-trivy-'));
    const peerPath = 'path' in peer ? peer.path : undefined;
    try {
      await measureSize(dir, count, peerPath, count <= oneTxMax);
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
  const rate = Math.round(build.advisories / build.seconds).toLocaleString('en-US');
  row(count, 'buildTrivyDb (parse → trivy.db + tar.gz)', build,
    `${rate} advisories/s  trivy.db ${mb(build.dbBytes)}`);
  const writer = await measureParts(dir, count, input, outDir, build);
  if (!peer) return;

  let copied: RewriteMeasure | undefined;
  for (const batch of [...BBOLT_BATCHES, ...(oneTx ? [0] : [])]) {
    const target = path.join(dir, 'bbolt.db');
    // One transaction is far behind and costs memory: once is enough to show it.
    const repeats = batch ? REPEATS : 1;
    const copy = () => rewrite(peer, path.join(outDir, 'trivy.db'), target, batch);
    copied = await fastest(copy, repeats);
    const label = batch ? `${batch.toLocaleString('en-US')} puts per db.Update` : 'one transaction';
    const ratios = `ours/bbolt ${ratio(build, copied)} build, ${ratio(writer, copied)} writer`;
    row(count, `bbolt v1.5.0, ${label} (best of ${repeats})`, copied,
      `${ratios}  ${copied.transactions} tx  file ${mb(copied.bytes)}`);
  }
  const keys = copied?.keys.toLocaleString('en-US');
  const buckets = copied?.buckets.toLocaleString('en-US');
  console.log(`   ${count} advisories → ${keys} keys in ${buckets} buckets, ` +
    `input JSONL ${mb(statSync(input).size)}`);
}

// Parts of the build measured again alone, each in its own process; the rest (by difference)
// is planning, the external sort and the merge of its runs.
async function measureParts(dir: string, count: number, input: string, outDir: string,
  build: BuildMeasure): Promise<WriterMeasure> {
  const dbPath = path.join(outDir, 'trivy.db');
  const ours = path.join(dir, 'ours.db');
  const write = async () => child<WriterMeasure>(['--writer', dbPath, ours]);
  const writer = await fastest(write, REPEATS);
  const parts: [string, PartMeasure][] = [
    ['read + JSON.parse the input', child(['--parse', input])],
    ['read-back check (walkBbolt)', child(['--walk', dbPath])],
    ['db.tar.gz (gzip -9)', child(['--archive', outDir, dir])],
    [`our bbolt writer, same keys (best of ${REPEATS})`, writer],
  ];
  for (const [label, m] of parts) row(count, `  of which: ${label}`, m, '');
  const rest = build.seconds - parts.reduce((sum, [, m]) => sum + m.seconds, 0);
  row(count, '  rest: plan + external sort + merge', { seconds: rest },
    '(build minus the parts above)');

  return writer;
}

function row(count: number, label: string, m: { seconds: number; maxRssMb?: number },
  detail: string) {
  const seconds = `${m.seconds.toFixed(2)} s`.padStart(9);
  const rss = m.maxRssMb === undefined ? '' : `${m.maxRssMb.toFixed(0)} MB`;
  const line = `${String(count).padStart(8)}  ${label.padEnd(53)} ${seconds}  ${rss.padStart(8)}`;
  console.log(`${line}  ${detail}`.trimEnd());
}

async function fastest<T extends { seconds: number }>(run: () => Promise<T>,
  repeats: number): Promise<T> {
  let best = await run();
  for (let i = 1; i < repeats; i++) {
    const next = await run();
    if (next.seconds < best.seconds) best = next;
  }

  return best;
}

function ratio(ours: { seconds: number }, bbolt: { seconds: number }): string {
  return (ours.seconds / bbolt.seconds).toFixed(2);
}

function mb(bytes: number): string {
  return `${(bytes / 1e6).toFixed(0)} MB`;
}

function numbers(list: string): number[] {
  return list.split(',').map(Number);
}

function child<T>(args: string[]): T {
  const self = fileURLToPath(import.meta.url);
  const result = spawnSync(process.execPath, ['--import', 'tsx', self, ...args],
    { encoding: 'utf8', maxBuffer: 1 << 24 });
  if (result.status !== 0) {
    throw new Error(`bench child ${args[0]} failed: ${result.stderr}`);
  }

  return JSON.parse(result.stdout.trim().split('\n').pop()!) as T;
}

async function rewrite(peer: string, source: string, target: string,
  batch: number): Promise<RewriteMeasure> {
  const { stdout } = await execFileAsync(peer, ['-batch', String(batch), source, target]);
  await rm(target, { force: true });

  return JSON.parse(stdout) as RewriteMeasure;
}

// Builds the peer once into .tools/bin, again only when its sources are newer than the binary.
async function ensurePeer(): Promise<{ path: string } | { reason: string }> {
  const sources = ['main.go', 'go.mod', 'go.sum'].map((f) => path.join(peerDir, f));
  const newest = Math.max(...sources.map((f) => statSync(f).mtimeMs));
  if (existsSync(peerBinary) && newest <= statSync(peerBinary).mtimeMs) {
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
  const stream = createReadStream(file, { encoding: 'utf8', highWaterMark: 1 << 20 });
  for await (const chunk of stream) {
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
  const workDir = path.dirname(outDir);
  const result = await buildTrivyDb({ advisories: counted(), outDir, now: BUILD_NOW, workDir });
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  const dbBytes = result.files.find((f) => f.path === 'trivy.db')!.size;
  emit({ advisories, seconds, dbBytes });
}

// Our forward-only writer fed the keys of the built trivy.db in the order our reader walks
// them; only the writer's calls are timed, so this is the like-for-like figure against the
// bbolt library's write side.
async function writerChild(source: string, target: string) {
  let spent = 0;
  const timed = (call: () => void) => {
    const start = performance.now();
    call();
    spent += performance.now() - start;
  };
  const opening = performance.now();
  const writer = await BboltWriter.create(target);
  spent += performance.now() - opening;
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
