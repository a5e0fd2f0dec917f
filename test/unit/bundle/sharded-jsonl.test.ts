import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { listFiles } from '../../../bundle/archive.js';
import { dataFileParts, partsInManifest, readDataLines } from '../../../bundle/bundle-parts.js';
import { removeQuietly } from '../../../bundle/files.js';
import type { ManifestFile } from '../../../bundle/manifest.js';
import { partPath, writeShardedJsonl } from '../../../bundle/sharded-jsonl.js';
import type { StellaError } from '../../../domain/errors.js';
import { readJsonlZst } from '../../../policy/read-jsonl-zst.js';

const RELATIVE = 'advisories/normalized.jsonl.zst';

// Ten advisory-like lines of 19 bytes each with their '\n' (ids a00…a09).
const LINES = Array.from({ length: 10 }, (_, i) => `{"id":"a${String(i).padStart(2, '0')}","x":1}`);

describe('writeShardedJsonl', () => {
  let root: string;

  before(async () => {
    root = await mkdtemp(path.join(os.tmpdir(), 'stella-sharded-'));
  });

  after(async () => {
    await removeQuietly(root);
  });

  async function write(name: string, lines: string[], bytes: number, records = 1000) {
    const stagingDir = path.join(root, name);
    const files = await writeShardedJsonl(fromArray(lines), {
      stagingDir,
      relative: RELATIVE,
      contentType: 'advisory',
      limits: { bytes, records },
      keyOf: (line) => (JSON.parse(line) as { id: string }).id,
    });

    return { stagingDir, files };
  }

  describe('when the lines fit in one part', () => {
    it('returns the file under its usual name with no shard entry', async () => {
      const { stagingDir, files } = await write('whole', LINES, 1024);

      assert.deepEqual(files.map((f) => [f.path, f.records, f.shard]), [[RELATIVE, 10, undefined]]);
      assert.deepEqual(await listFiles(stagingDir), [RELATIVE]);
    });
  });

  describe('when the lines pass the byte limit', () => {
    it('returns numbered parts holding every line once, in order', async () => {
      const { stagingDir, files } = await write('bytes', LINES, 60);

      assert.deepEqual(files.map((f) => f.path), [1, 2, 3, 4].map((i) => partPath(RELATIVE, i)));
      assert.deepEqual(files.map((f) => f.records), [3, 3, 3, 1]);
      assert.deepEqual(await collect(readDataLines(stagingDir, RELATIVE)), LINES);
    });

    it('returns the shard key of each part: content type, place, first and last id', async () => {
      const { files } = await write('keys', LINES, 60);

      assert.deepEqual(files[1].shard, {
        of: RELATIVE,
        index: 2,
        count: 4,
        contentType: 'advisory',
        firstKey: 'a03',
        lastKey: 'a05',
      });
    });

    it('returns the sha256 and size of the bytes on disk', async () => {
      const { stagingDir, files } = await write('digests', LINES, 60);
      for (const file of files) {
        const bytes = await readFile(path.join(stagingDir, file.path));

        assert.equal(file.size, bytes.length, file.path);
        assert.equal(file.sha256, createHash('sha256').update(bytes).digest('hex'), file.path);
      }
    });
  });

  describe('when the lines pass the record limit', () => {
    it('returns parts of at most that many records', async () => {
      const { files } = await write('records', LINES, 1024, 4);

      assert.deepEqual(files.map((f) => f.records), [4, 4, 2]);
    });
  });

  describe('when one line is longer than the byte limit', () => {
    it('returns that line as a part of its own', async () => {
      const long = `{"id":"b00","pad":"${'x'.repeat(100)}"}`;
      const { stagingDir, files } = await write('long', [LINES[0], long, LINES[1]], 40);

      assert.deepEqual(files.map((f) => f.records), [1, 1, 1]);
      assert.deepEqual(await collect(readJsonlZst(path.join(stagingDir, files[1].path))), [long]);
    });
  });

  describe('when written twice from the same lines', () => {
    it('returns the same parts with the same bytes', async () => {
      const a = await write('again-a', LINES, 60);
      const b = await write('again-b', LINES, 60);

      assert.deepEqual(a.files, b.files);
    });
  });

  describe('when an earlier attempt left more parts in the folder', () => {
    it('removes them, so no unlisted file stays behind', async () => {
      const stagingDir = path.join(root, 'resumed');
      await write('resumed', LINES, 20);
      const { files } = await write('resumed', LINES, 60);

      assert.deepEqual(await listFiles(stagingDir), files.map((f) => f.path));
    });
  });

  describe('when there are no lines', () => {
    it('returns one empty file under its usual name', async () => {
      const { files } = await write('empty', [], 60);

      assert.deepEqual(files.map((f) => [f.path, f.records]), [[RELATIVE, 0]]);
    });
  });

  describe('when a limit is not positive', () => {
    it('throws before writing anything', async () => {
      await assert.rejects(write('zero', LINES, 0), RangeError);
    });
  });
});

describe('partsInManifest', () => {
  const part = (index: number, count: number): ManifestFile => ({
    path: partPath(RELATIVE, index),
    sha256: '00'.repeat(32),
    size: 1,
    mediaType: 'application/x-ndjson+zstd',
    shard: { of: RELATIVE, index, count, contentType: 'advisory' },
  });

  describe('when the parts are listed out of order', () => {
    it('returns them in part order', () => {
      const parts = partsInManifest([part(2, 2), part(1, 2)], RELATIVE);

      assert.deepEqual(parts.map((f) => f.shard?.index), [1, 2]);
    });
  });

  describe('when a part is missing from the list', () => {
    it('throws integrity_failed naming the file', () => {
      assert.throws(
        () => partsInManifest([part(1, 3), part(3, 3)], RELATIVE),
        (err: StellaError) => err.code === 'integrity_failed' && err.message.includes(RELATIVE),
      );
    });
  });

  describe('when the last part is missing from the list', () => {
    it('throws integrity_failed', () => {
      assert.throws(
        () => partsInManifest([part(1, 3), part(2, 3)], RELATIVE),
        (err: StellaError) => err.code === 'integrity_failed' && /2 of 3 parts/.test(err.message),
      );
    });
  });

  describe('when the file is listed whole beside its parts', () => {
    it('throws integrity_failed', () => {
      const whole = { ...part(1, 1), path: RELATIVE, shard: undefined };

      assert.throws(
        () => partsInManifest([whole, part(1, 1)], RELATIVE),
        (err: StellaError) => err.code === 'integrity_failed',
      );
    });
  });
});

describe('dataFileParts', () => {
  describe('when the folder has an export.json that lists no such file', () => {
    it('throws integrity_failed', async () => {
      const dir = await mkdtemp(path.join(os.tmpdir(), 'stella-parts-'));
      await writeFile(path.join(dir, 'export.json'), JSON.stringify({ files: [] }));

      await assert.rejects(
        dataFileParts(dir, RELATIVE),
        (err: StellaError) => err.code === 'integrity_failed',
      );
      await removeQuietly(dir);
    });
  });
});

async function* fromArray(lines: string[]): AsyncGenerator<string> {
  yield* lines;
}

async function collect(lines: AsyncIterable<string>): Promise<string[]> {
  const all: string[] = [];
  for await (const line of lines) {
    all.push(line);
  }

  return all;
}
