import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import tar from 'tar-stream';
import { mirrorFullAdapter } from '../../../adapters/mirror/mirror-full-adapter.js';
import { extractTarZst } from '../../../bundle/extract.js';
import { removeQuietly } from '../../../bundle/files.js';
import type { StellaError } from '../../../domain/errors.js';
import { openBundle } from '../../../mirror-reader/bundle-source.js';
import { readJsonlZst } from '../../../policy/read-jsonl-zst.js';
import { packageRoot } from '../../../platform/package-root.js';
import type { CliResult } from '../../support/cli.js';
import { EVIDENCE } from '../../support/export-stack.js';
import {
  openMirrorTestStore,
  type MirrorTestStore,
  type SealedRun,
} from '../mirror/mirror-test-store.js';

const exec = promisify(execFile);
const PROMPT_EXIT_MS = 15_000;
const OSV_GO = path.join(EVIDENCE, 'advisories', 'osv', 'go');

// Archives packed the way users pack folders: `tar -cf x.tar -C folder .` then zstd, so
// every entry starts with `./` and the first one is the `./` root itself.
describe('bundle .tar.zst readers', { timeout: 120_000 }, () => {
  let store: MirrorTestStore;
  let run: SealedRun;
  let scratch: string;
  let clean: string;
  let refused: string;

  before(async () => {
    scratch = await mkdtemp(path.join(os.tmpdir(), 'stella-tar-readers-'));
    store = await openMirrorTestStore();
    await store.ingest(await firstFiles(OSV_GO, 2));
    run = await store.run(mirrorFullAdapter);
    clean = await packDotArchive(run.bundleDir, path.join(scratch, 'clean.tar'));
    refused = await packRefusedArchive(path.join(scratch, 'refused'));
  });

  after(async () => {
    await store?.close();
    await removeQuietly(scratch);
  });

  describe('stella export verify', () => {
    describe('when the archive has ./ entries and a ./ root entry', () => {
      it('returns exit 0', async () => {
        const result = await runCliPromptly(['export', 'verify', clean, '--json']);

        assert.equal(result.code, 0, result.stderr);
        assert.equal(JSON.parse(result.stdout).ok, true);
      });
    });

    describe('when an entry is a link, with megabytes still to decompress after it', () => {
      it('returns exit 6 with integrity_failed within seconds', async () => {
        const result = await runCliPromptly(['export', 'verify', refused]);

        assert.equal(result.code, 6, result.stderr);
        assert.match(result.stderr, /integrity_failed: bundle entry "a\/link" is a symlink/);
      });
    });
  });

  describe('stella mirror import', () => {
    describe('when the archive has ./ entries and a ./ root entry', () => {
      it('returns exit 0 and a mirror serving the run', async () => {
        const root = path.join(scratch, 'mirror-clean');

        const result = await runCliPromptly(['mirror', 'import', clean, '--root', root, '--json']);
        const status = await runCliPromptly(['mirror', 'status', '--root', root, '--json']);

        assert.equal(result.code, 0, result.stderr);
        assert.equal(JSON.parse(status.stdout).head.runId, run.runId);
      });
    });

    describe('when an entry is a link, with megabytes still to decompress after it', () => {
      it('returns exit 6 with integrity_failed within seconds', async () => {
        const root = path.join(scratch, 'mirror-refused');

        const result = await runCliPromptly(['mirror', 'import', refused, '--root', root]);

        assert.equal(result.code, 6, result.stderr);
        assert.match(result.stderr, /integrity_failed: archive entry "\.\/a\/link": is a symlink/);
      });
    });
  });

  describe('extractTarZst', () => {
    describe('when the archive has ./ entries and a ./ root entry', () => {
      it('returns the bundle paths without ./ and writes the same bytes', async () => {
        const target = path.join(scratch, 'extracted');

        const written = await extractTarZst(clean, target);

        assert.ok(written.includes('export.json'), written.join(', '));
        assert.ok(written.every((name) => !name.startsWith('.')), written.join(', '));
        assert.deepEqual(
          await readFile(path.join(target, 'export.json')),
          await readFile(path.join(run.bundleDir, 'export.json')),
        );
      });
    });

    describe('when an entry is refused', () => {
      it('throws integrity_failed and leaves no zstd child', async () => {
        const reading = extractTarZst(refused, path.join(scratch, 'extracted-refused'));

        await assertRefusedCleanly(reading);
      });
    });

    describe('when the archive is cut short or corrupted midway', () => {
      it('throws integrity_failed and leaves no zstd child', async () => {
        const bytes = await readFile(clean);
        const corrupted = Buffer.from(bytes);
        corrupted.fill(0x41, bytes.length >> 1, (bytes.length >> 1) + 4);
        const damaged = { cut: bytes.subarray(0, bytes.length >> 1), corrupted };
        for (const [kind, content] of Object.entries(damaged)) {
          const archive = path.join(scratch, `${kind}.tar.zst`);
          await writeFile(archive, content);

          const reading = extractTarZst(archive, path.join(scratch, `out-${kind}`));

          await assertRefusedCleanly(reading, kind);
        }
      });
    });

    for (const name of ['../escape.txt', './../escape.txt', '/abs.txt', '././x.txt', './/x.txt']) {
      describe(`when an entry is named ${JSON.stringify(name)}`, () => {
        it('throws integrity_failed and leaves no zstd child', async () => {
          const archive = await packNamedEntry(path.join(scratch, 'named'), name);

          const reading = extractTarZst(archive, await mkdtemp(path.join(scratch, 'out-')));

          await assertRefusedCleanly(reading, name);
        });
      });
    }
  });

  describe('openBundle', () => {
    describe('when an entry is refused', () => {
      it('throws integrity_failed and leaves no zstd child', async () => {
        await assertRefusedCleanly(openBundle(refused));
      });
    });
  });

  describe('readJsonlZst', () => {
    describe('when the caller stops after the first line of a large file', () => {
      it('returns that line and leaves no zstd child', async () => {
        const file = path.join(scratch, 'many.jsonl.zst');
        const record = (i: number) => JSON.stringify({ i, pad: 'x'.repeat(40) });
        const lines = Array.from({ length: 200_000 }, (_, i) => record(i));
        await writeFile(path.join(scratch, 'many.jsonl'), `${lines.join('\n')}\n`);
        await exec('zstd', ['-q', '-f', path.join(scratch, 'many.jsonl'), '-o', file]);

        let first: string | undefined;
        for await (const line of readJsonlZst(file)) {
          first = line;
          break;
        }

        assert.equal(first, lines[0]);
        assert.deepEqual(await zstdChildren(), []);
      });
    });

    describe('when the file is not zstd', () => {
      it('throws the zstd complaint', async () => {
        const file = path.join(scratch, 'not.jsonl.zst');
        await writeFile(file, 'plain text, not a zstd frame\n');

        await assert.rejects(collect(readJsonlZst(file)), /zstd -d failed: .*unsupported format/);
        assert.deepEqual(await zstdChildren(), []);
      });
    });
  });
});

async function firstFiles(dir: string, count: number): Promise<string[]> {
  const names = (await readdir(dir)).filter((name) => name.endsWith('.json')).sort();

  return names.slice(0, count).map((name) => path.join(dir, name));
}

async function packDotArchive(folder: string, tarFile: string): Promise<string> {
  await exec('tar', ['-cf', tarFile, '-C', folder, '.']);
  await exec('zstd', ['-q', '-f', '--rm', tarFile, '-o', `${tarFile}.zst`]);

  return `${tarFile}.zst`;
}

// A link entry followed by 4 MB that does not compress: far more than the pipes between
// Node and zstd hold, so a zstd process left running would block on a full pipe forever.
async function packRefusedArchive(folder: string): Promise<string> {
  await mkdir(path.join(folder, 'a'), { recursive: true });
  await writeFile(path.join(folder, 'export.json'), '{}');
  await symlink('/etc/passwd', path.join(folder, 'a', 'link'));
  await writeFile(path.join(folder, 'a', 'zz-noise.bin'), randomBytes(4_000_000));
  const tarFile = `${folder}.tar`;
  const entries = ['./export.json', './a/link', './a/zz-noise.bin'];
  await exec('tar', ['-cf', tarFile, '-C', folder, ...entries]);
  await exec('zstd', ['-q', '-f', '--rm', tarFile, '-o', `${tarFile}.zst`]);

  return `${tarFile}.zst`;
}

// GNU tar rewrites names like ../x when packing, so the tar is written with tar-stream.
async function packNamedEntry(base: string, name: string): Promise<string> {
  const tarFile = `${base}-${Math.random().toString(36).slice(2)}.tar`;
  const pack = tar.pack();
  const written = pipeline(pack, createWriteStream(tarFile));
  pack.entry({ name: './export.json' }, '{}');
  pack.entry({ name }, 'escaped');
  pack.entry({ name: './zz-noise.bin' }, randomBytes(2_000_000));
  pack.finalize();
  await written;
  await exec('zstd', ['-q', '-f', '--rm', tarFile, '-o', `${tarFile}.zst`]);

  return `${tarFile}.zst`;
}

// The failure a user sees for a refused archive, and nothing left running behind it.
async function assertRefusedCleanly(reading: Promise<unknown>, label = ''): Promise<void> {
  await assert.rejects(reading, (err: StellaError) => {
    assert.equal(err.code, 'integrity_failed', label);
    return true;
  });
  assert.deepEqual(await zstdChildren(), [], label);
}

// zstd processes this test process started and that are still alive (zombies included).
async function zstdChildren(): Promise<string[]> {
  // pgrep exits 1 when it finds nothing.
  const listing = exec('pgrep', ['-P', String(process.pid), '-l']);
  const result = await listing.catch(() => ({ stdout: '' }));

  return result.stdout.split('\n').filter((line) => /\bzstd\b/.test(line));
}

// The real CLI (as test/support/cli.ts runs it), killed after PROMPT_EXIT_MS: a hang
// fails the test instead of outliving it.
function runCliPromptly(args: string[]): Promise<CliResult> {
  const entry = path.join(packageRoot(), 'bin', 'stella.js');
  const child = spawn(process.execPath, [entry, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const output = { stdout: '', stderr: '' };
  child.stdout.on('data', (chunk: Buffer) => (output.stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output.stderr += chunk.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), PROMPT_EXIT_MS);

  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (signal) {
        reject(new Error(`stella ${args.join(' ')} did not exit within ${PROMPT_EXIT_MS} ms`));
        return;
      }
      resolve({ code: code ?? -1, ...output });
    });
  });
}

async function collect(lines: AsyncIterable<string>): Promise<string[]> {
  const all: string[] = [];
  for await (const line of lines) all.push(line);

  return all;
}
