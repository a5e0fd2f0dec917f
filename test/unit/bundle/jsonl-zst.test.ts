import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, readdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { removeQuietly } from '../../../bundle/files.js';
import { writeJsonlZst } from '../../../bundle/jsonl-zst.js';
import { readJsonlZst } from '../../../policy/read-jsonl-zst.js';

describe('writeJsonlZst', () => {
  const dirs: string[] = [];
  after(async () => Promise.all(dirs.map((dir) => removeQuietly(dir))));

  async function scratch(): Promise<string> {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'stella-jsonl-zst-'));
    dirs.push(dir);

    return dir;
  }

  describe('when every line arrives', () => {
    it('returns the record count and a file that reads back line for line', async () => {
      const dir = await scratch();
      const file = path.join(dir, 'records.jsonl.zst');
      const lines = Array.from({ length: 2_500 }, (_, i) => JSON.stringify({ i }));

      const result = await writeJsonlZst(file, fromArray(lines));

      assert.equal(result.records, 2_500);
      const back: string[] = [];
      for await (const line of readJsonlZst(file)) back.push(line);
      assert.deepEqual(back, lines);
    });
  });

  describe('when the line source throws part way', () => {
    it('throws that error and leaves neither a file nor a zstd process behind', async () => {
      const dir = await scratch();
      const file = path.join(dir, 'records.jsonl.zst');
      const boom = new Error('record source failed');

      await assert.rejects(writeJsonlZst(file, failingAfter(50_000, boom)), boom);

      assert.deepEqual(await readdir(dir), []);
      assert.deepEqual(zstdChildren(), []);
    });
  });
});

async function* fromArray(lines: string[]): AsyncGenerator<string> {
  yield* lines;
}

async function* failingAfter(count: number, error: Error): AsyncGenerator<string> {
  for (let i = 0; i < count; i += 1) yield JSON.stringify({ i, pad: 'x'.repeat(64) });
  throw error;
}

// zstd processes this test process started and that are still running.
function zstdChildren(): string[] {
  try {
    return execFileSync('pgrep', ['-P', String(process.pid), 'zstd'], { encoding: 'utf8' })
      .split('\n')
      .filter(Boolean);
  } catch {
    return []; // pgrep exits 1 when nothing matches
  }
}
