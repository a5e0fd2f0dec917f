// JSONL + zstd write throughput for one worker, on records shaped like the real advisories.
//
//   npm run bench -- jsonl-write            (200,000 and 400,000 records)
//   STELLA_BENCH_JSONL_RECORDS=1000000 npm run bench -- jsonl-write
//
// Reports, on the same records: our writer (canonical lines as stored at ingest, streamed
// through the zstd process), the zstd binary alone on the same bytes, JSON.stringify alone,
// and the whole store → file path (plan + stream from SQLite + write). Peak RSS is measured
// per child process, so a figure that does not grow with the record count shows bounded
// memory.
import { execFileSync, spawnSync } from 'node:child_process';
import { createReadStream, createWriteStream, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { once } from 'node:events';
import { writeJsonlZst } from '../bundle/jsonl-zst.js';
import { advisoryLine } from '../store/evidence-store.js';
import { loadRealAdvisories, synthesizeAdvisories } from '../test/support/synthetic-advisories.js';

const mode = process.argv[2];

if (mode === '--writer') {
  await writerChild(process.argv[3], process.argv[4]);
} else if (mode === '--stringify') {
  await stringifyChild(process.argv[3]);
} else if (mode === '--store') {
  await storeChild(Number(process.argv[3]));
} else {
  await main();
}

async function main() {
  const sizes = (process.env.STELLA_BENCH_JSONL_RECORDS ?? '200000,400000').split(',').map(Number);
  const dir = await mkdtemp(path.join(os.tmpdir(), 'stella-bench-jsonl-'));
  try {
    for (const count of sizes) {
      const input = path.join(dir, `advisories-${count}.jsonl`);
      await synthesizeLines(input, count);
      const bytes = statSync(input).size;
      report(count, 'writer (lines → zstd → file)', child(['--writer', input, path.join(dir, 'out.jsonl.zst')]));
      report(count, 'zstd -3 binary alone', zstdAlone(input, count));
      report(count, 'JSON.stringify alone', child(['--stringify', input]));
      report(count, 'store → file (plan + SQLite stream + write)', child(['--store', String(count)]));
      console.log(`   ${count} records, ${(bytes / 1e6).toFixed(0)} MB of canonical JSONL`);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

interface Measure {
  records: number;
  seconds: number;
  maxRssMb?: number;
}

function report(count: number, label: string, m: Measure) {
  const rate = Math.round(m.records / m.seconds).toLocaleString('en-US');
  const rss = m.maxRssMb ? `, peak RSS ${m.maxRssMb.toFixed(0)} MB` : '';
  console.log(`${String(count).padStart(8)}  ${label.padEnd(46)} ${rate.padStart(10)} records/s (${m.seconds.toFixed(2)} s${rss})`);
}

function child(args: string[]): Measure {
  const self = fileURLToPath(import.meta.url);
  const result = spawnSync(process.execPath, ['--import', 'tsx', self, ...args], { encoding: 'utf8', maxBuffer: 1 << 24 });
  if (result.status !== 0) {
    throw new Error(`bench child ${args[0]} failed: ${result.stderr}`);
  }

  return JSON.parse(result.stdout.trim().split('\n').pop()!) as Measure;
}

function zstdAlone(input: string, records: number): Measure {
  const start = process.hrtime.bigint();
  execFileSync('zstd', ['-3', '-q', '-c', input], { stdio: ['ignore', 'ignore', 'inherit'] });

  return { records, seconds: Number(process.hrtime.bigint() - start) / 1e9 };
}

async function synthesizeLines(file: string, count: number) {
  const shapes = await loadRealAdvisories();
  const out = createWriteStream(file);
  for (const advisory of synthesizeAdvisories(shapes, count)) {
    if (!out.write(advisoryLine(advisory, 'f'.repeat(64)) + '\n')) {
      await once(out, 'drain');
    }
  }
  out.end();
  await once(out, 'finish');
}

// A plain newline splitter over large reads: the input side must not be the bottleneck.
async function* linesOf(file: string): AsyncGenerator<string> {
  let rest = '';
  for await (const chunk of createReadStream(file, { encoding: 'utf8', highWaterMark: 1 << 20 })) {
    const lines = (rest + (chunk as string)).split('\n');
    rest = lines.pop()!;
    yield* lines;
  }
  if (rest) {
    yield rest;
  }
}

async function writerChild(input: string, output: string) {
  const start = process.hrtime.bigint();
  const result = await writeJsonlZst(output, linesOf(input));
  emit({ records: result.records, seconds: elapsed(start) });
}

async function stringifyChild(input: string) {
  // Parse outside the timed part, a window at a time, so only serialization is measured.
  let records = 0;
  let seconds = 0;
  let window: unknown[] = [];
  const flush = () => {
    const start = process.hrtime.bigint();
    for (const record of window) {
      JSON.stringify(record);
    }
    seconds += elapsed(start);
    records += window.length;
    window = [];
  };
  for await (const line of linesOf(input)) {
    window.push(JSON.parse(line));
    if (window.length === 10_000) {
      flush();
    }
  }
  flush();
  emit({ records, seconds });
}

async function storeChild(count: number) {
  const { migrateDatabase, openDatabase } = await import('../store/database.js');
  const { planRunInputs } = await import('../store/export-plan.js');
  const { RunRecordSource } = await import('../store/export-records.js');
  const { insertSyntheticAdvisories } = await import('../test/support/synthetic-advisories.js');
  const dir = await mkdtemp(path.join(os.tmpdir(), 'stella-bench-store-'));
  const url = `file:${path.join(dir, 'bench.db')}`;
  await migrateDatabase(url);
  await insertSyntheticAdvisories(url, 'bench', count);
  const db = await openDatabase(url);
  await db.exportRun.create({
    data: { id: 'run_bench_1', tenant: 'bench', profileId: 'prof_json_raw', profileKind: 'json:raw', trigger: 'api', state: 'queued', filters: '{}', workflowId: 'run_bench_1', createdAt: new Date() },
  });

  const start = process.hrtime.bigint();
  await planRunInputs(db, 'bench', 'run_bench_1', {});
  const source = new RunRecordSource(db, 'bench', 'run_bench_1');
  const result = await writeJsonlZst(path.join(dir, 'out.jsonl.zst'), source.advisoryLines());
  const seconds = elapsed(start);
  await db.$disconnect();
  await rm(dir, { recursive: true, force: true });
  emit({ records: result.records, seconds });
}

function elapsed(start: bigint): number {
  return Number(process.hrtime.bigint() - start) / 1e9;
}

function emit(measure: Measure) {
  const maxRssMb = process.resourceUsage().maxRSS / 1024;
  process.stdout.write(JSON.stringify({ ...measure, maxRssMb }) + '\n');
}
