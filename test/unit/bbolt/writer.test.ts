import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';

import { fnv1a64 } from '../../../bbolt/layout.js';
import { readBboltTree } from '../../../bbolt/reader.js';
import { type BboltEntry, writeBboltTree } from '../../../bbolt/tree.js';
import { BboltWriter } from '../../../bbolt/writer.js';

const dir = mkdtempSync(join(tmpdir(), 'bbolt-writer-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const value = (key: string, v: string | Buffer): BboltEntry => ({
  kind: 'value',
  key: Buffer.from(key),
  value: Buffer.isBuffer(v) ? v : Buffer.from(v),
});
const bucket = (key: string, entries: BboltEntry[]): BboltEntry => ({
  kind: 'bucket',
  key: Buffer.from(key),
  entries,
});

// docs/formats/bbolt.md section 12, with the two tree pages in post-order (children first, as in
// spec section 13.3): page 3 is bucket "a", page 4 the root leaf. Bytes of each page up to its
// last structure; the rest of the page is zero.
const WORKED_EXAMPLE_PAGES: Record<number, string> = {
  2: '0200000000000000 1000 0000 00000000',
  3: [
    '0300000000000000 0200 0100 00000000',
    '01000000 10000000 01000000 32000000',
    '62 0000000000000000 0000000000000000',
    '0000000000000000 0200 0100 00000000',
    '00000000 10000000 01000000 01000000',
    '6b 76',
  ].join(''),
  4: [
    '0400000000000000 0200 0100 00000000',
    '01000000 10000000 01000000 10000000',
    '61 0300000000000000 0000000000000000',
  ].join(''),
};

// Meta fields after the page header: magic, version, page size, flags, root 4, sequence,
// freelist 2, high-water mark 5; then txid and checksum.
const META_BODY =
  'edda0ced 02000000 00100000 00000000 0400000000000000 0000000000000000' +
  ' 0200000000000000 0500000000000000';

describe('fnv1a64', () => {
  it('returns the published test vectors', () => {
    assert.equal(fnv1a64(Buffer.alloc(0)), 0xcbf29ce484222325n);
    assert.equal(fnv1a64(Buffer.from('a')), 0xaf63dc4c8601ec8cn);
    assert.equal(fnv1a64(Buffer.from('foobar')), 0x85944171f73967e8n);
  });
});

describe('BboltWriter', () => {
  describe('close', () => {
    describe('when writing the worked example a / b / k = v', () => {
      it('returns a five-page file whose pages match the spec byte for byte', async () => {
        const path = join(dir, 'worked.db');
        const result = await writeBboltTree(path, [bucket('a', [bucket('b', [value('k', 'v')])])]);
        const bytes = readFileSync(path);

        assert.equal(result.pageCount, 5);
        assert.equal(bytes.length, 5 * 4096);
        for (const [page, hex] of Object.entries(WORKED_EXAMPLE_PAGES)) {
          const start = Number(page) * 4096;
          const expected = hex.replace(/\s/g, '');
          const end = start + expected.length / 2;
          assert.equal(bytes.subarray(start, end).toString('hex'), expected, `page ${page}`);
          assert.ok(
            bytes.subarray(end, start + 4096).every((b) => b === 0),
            `page ${page} tail`,
          );
        }
        for (const txid of [0, 1]) {
          const meta = bytes.subarray(txid * 4096, txid * 4096 + 80);
          const body = META_BODY.replace(/\s/g, '');
          assert.equal(
            meta.subarray(0, 16).toString('hex'),
            `0${txid}${'0'.repeat(14)}0400000000000000`,
          );
          assert.equal(meta.subarray(16, 64).toString('hex'), body);
          assert.equal(meta.readBigUInt64LE(64), BigInt(txid));
          assert.equal(meta.readBigUInt64LE(72), fnv1a64(meta.subarray(16, 72)));
        }
      });
    });

    describe('when no bucket was written', () => {
      it('returns a file with an empty root leaf that reads back as no buckets', async () => {
        const path = join(dir, 'empty.db');
        await writeBboltTree(path, []);

        assert.deepEqual(readBboltTree(path).buckets, []);
        assert.equal(readFileSync(path).length, 4 * 4096);
      });
    });

    describe('when the target path already exists', () => {
      it('returns after replacing it atomically', async () => {
        const path = join(dir, 'replace.db');
        writeFileSync(path, 'old');
        await writeBboltTree(path, [bucket('x', [])]);

        assert.equal(readBboltTree(path).buckets.length, 1);
      });
    });
  });

  describe('put', () => {
    describe('when a key is not above the previous one', () => {
      it('throws an internal error naming both keys', async () => {
        const writer = await BboltWriter.create(join(dir, 'order.db'));
        writer.openBucket('a');
        writer.put('b', '1');

        assert.throws(() => writer.put('a', '2'), { code: 'internal', message: /61.*62/ });
        assert.throws(() => writer.put('b', '2'), { code: 'internal' });
        writer.abort();
      });
    });

    describe('when a nested bucket name repeats a key', () => {
      it('throws an internal error', async () => {
        const writer = await BboltWriter.create(join(dir, 'dup.db'));
        writer.openBucket('a');
        writer.put('k', '1');

        assert.throws(() => writer.openBucket('k'), { code: 'internal' });
        writer.abort();
      });
    });

    describe('when called on the root bucket or with an empty key', () => {
      it('throws an internal error', async () => {
        const writer = await BboltWriter.create(join(dir, 'root.db'));

        assert.throws(() => writer.put('k', 'v'), { code: 'internal' });
        writer.openBucket('a');
        assert.throws(() => writer.put('', 'v'), { code: 'internal' });
        writer.abort();
      });
    });
  });
});
