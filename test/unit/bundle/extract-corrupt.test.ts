import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { packTarZst } from '../../../bundle/archive.js';
import { extractTarZst } from '../../../bundle/extract.js';
import { removeQuietly } from '../../../bundle/files.js';

// A corrupt byte run in the middle of an entry's data once left the copy of that entry
// waiting forever (the process then exited 13 with the promise unsettled): every offset
// must end in integrity_failed.
describe('extractTarZst', { timeout: 120_000 }, () => {
  let dir: string;
  let archive: Buffer;

  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'stella-extract-corrupt-'));
    const bundle = path.join(dir, 'bundle');
    await mkdir(path.join(bundle, 'sboms'), { recursive: true });
    for (let i = 0; i < 4; i += 1) {
      const lines = Array.from({ length: 20_000 }, (_, n) => `{"file":${i},"line":${n},"v":"${(n * 7919) % 104729}"}`);
      await writeFile(path.join(bundle, 'sboms', `part-${i}.json`), lines.join('\n'));
    }
    const archivePath = path.join(dir, 'bundle.tar.zst');
    await packTarZst(bundle, archivePath);
    archive = await readFile(archivePath);
  });

  after(async () => {
    if (dir) await removeQuietly(dir);
  });

  describe('when the archive is corrupted midway', () => {
    for (let tenth = 1; tenth <= 9; tenth += 1) {
      it(`throws integrity_failed for a corruption at ${tenth}0% of the archive`, async () => {
        const corrupt = Buffer.from(archive);
        const at = Math.floor((corrupt.length * tenth) / 10);
        corrupt.fill(0x41, at, at + 4);
        const file = path.join(dir, `corrupt-${tenth}.tar.zst`);
        await writeFile(file, corrupt);

        await assert.rejects(extractTarZst(file, path.join(dir, `out-${tenth}`)), {
          code: 'integrity_failed',
        });
      });
    }
  });
});
