// Builds (once, cached in .tools/bin) and runs bench/peers/bbolt-check: the real bbolt v1.5.0
// library opening a file read-only as Trivy does, running Tx.Check and dumping the tree.
import { execFile } from 'node:child_process';
import { existsSync, renameSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

import type { BboltEntry } from '../../bbolt/tree.js';

const run = promisify(execFile);
const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const sourceDir = join(repoRoot, 'bench/peers/bbolt-check');
const binary = join(repoRoot, '.tools/bin/bbolt-check');

export interface BboltCheckReport {
  errors: string[];
  buckets: BboltEntry[];
}

interface DumpEntry {
  key: string;
  value?: string;
  entries?: DumpEntry[];
}

// Returns the checker's path, or a reason why it cannot be built (for a test skip message).
export async function ensureBboltCheck(): Promise<{ path: string } | { reason: string }> {
  if (isFresh()) return { path: binary };

  const temp = `${binary}.${process.pid}`;
  try {
    await run('go', ['build', '-o', temp, '.'], { cwd: sourceDir, timeout: 600_000 });
    renameSync(temp, binary);
  } catch (err) {
    return { reason: `cannot build ${sourceDir}: ${(err as Error).message}` };
  }

  return { path: binary };
}

export async function runBboltCheck(checker: string, file: string): Promise<BboltCheckReport> {
  const { stdout } = await run(checker, [file], { maxBuffer: 1 << 30 });
  const report = JSON.parse(stdout) as { errors: string[]; buckets: DumpEntry[] };

  return { errors: report.errors, buckets: report.buckets.map(toEntry) };
}

function toEntry(dump: DumpEntry): BboltEntry {
  const key = Buffer.from(dump.key, 'hex');
  if (dump.value !== undefined)
    return { kind: 'value', key, value: Buffer.from(dump.value, 'hex') };

  return { kind: 'bucket', key, entries: (dump.entries ?? []).map(toEntry) };
}

function isFresh(): boolean {
  if (!existsSync(binary)) return false;

  const built = statSync(binary).mtimeMs;
  const sources = ['main.go', 'go.mod', 'go.sum'].map((f) => statSync(join(sourceDir, f)).mtimeMs);

  return sources.every((m) => m <= built);
}
