import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import { readBboltTree } from '../../../bbolt/reader.js';
import { writeBboltTree } from '../../../bbolt/tree.js';

const dir = mkdtempSync(join(tmpdir(), 'bbolt-reader-'));
after(() => rmSync(dir, { recursive: true, force: true }));

let pristine: Buffer;
before(async () => {
  const path = join(dir, 'pristine.db');
  const entry = { kind: 'value' as const, key: Buffer.from('k'), value: Buffer.from('v') };
  await writeBboltTree(path, [{ kind: 'bucket', key: Buffer.from('a'), entries: [entry] }]);
  pristine = readFileSync(path);
});

function variant(name: string, change: (bytes: Buffer) => Buffer): string {
  const path = join(dir, name);
  writeFileSync(path, change(Buffer.from(pristine)));

  return path;
}

describe('readBboltTree', () => {
  describe('when one meta page has a bad checksum', () => {
    it('returns the tree through the other meta page', () => {
      const path = variant('meta1.db', (b) => {
        b[4096 + 72] ^= 0xff;
        return b;
      });

      assert.equal(readBboltTree(path).meta.txid, 0);
      assert.equal(readBboltTree(path).buckets.length, 1);
    });
  });

  describe('when both meta pages have bad checksums', () => {
    it('throws integrity_failed', () => {
      const path = variant('metas.db', (b) => {
        b[72] ^= 0xff;
        b[4096 + 72] ^= 0xff;
        return b;
      });

      assert.throws(() => readBboltTree(path), { code: 'integrity_failed', message: /meta/ });
    });
  });

  describe('when a tree page names another page id', () => {
    it('throws integrity_failed naming the page', () => {
      const path = variant('pgid.db', (b) => {
        b[3 * 4096] = 9;
        return b;
      });

      assert.throws(() => readBboltTree(path), {
        code: 'integrity_failed',
        message: /page 3 identifies itself as 9/,
      });
    });
  });

  describe('when the file is cut short', () => {
    it('throws integrity_failed', () => {
      const path = variant('short.db', (b) => b.subarray(0, 3 * 4096 + 100));

      assert.throws(() => readBboltTree(path), { code: 'integrity_failed' });
    });
  });

  describe('when the high-water mark leaves a page unaccounted for', () => {
    it('throws integrity_failed naming the page', () => {
      const path = variant('hwm.db', (b) => Buffer.concat([b, Buffer.alloc(4096)]));
      const meta = Buffer.from(readFileSync(path));
      // Rewrite only the txid-1 meta: HWM 5 with a fresh checksum, so it wins.
      meta.writeBigUInt64LE(5n, 4096 + 56);
      meta.writeBigUInt64LE(fnv(meta.subarray(4096 + 16, 4096 + 72)), 4096 + 72);
      writeFileSync(path, meta);

      assert.throws(() => readBboltTree(path), {
        code: 'integrity_failed',
        message: /page 4 is neither reachable nor free/,
      });
    });
  });
});

function fnv(bytes: Uint8Array): bigint {
  let h = 0xcbf29ce484222325n;
  for (const b of bytes) h = BigInt.asUintN(64, (h ^ BigInt(b)) * 0x100000001b3n);

  return h;
}
