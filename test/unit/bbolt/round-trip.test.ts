import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';

import fc from 'fast-check';

import { readBboltTree } from '../../../bbolt/reader.js';
import { type BboltEntry, sortBboltEntries, writeBboltTree } from '../../../bbolt/tree.js';

const dir = mkdtempSync(join(tmpdir(), 'bbolt-fuzz-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const toBuffer = (bytes: Uint8Array): Buffer => Buffer.from(bytes);

const shortKey = fc.uint8Array({ minLength: 1, maxLength: 24 });
const keyArb = fc.oneof(
  { weight: 20, arbitrary: shortKey },
  { weight: 1, arbitrary: fc.uint8Array({ minLength: 900, maxLength: 5000 }) },
);
const valueArb = fc.oneof(
  { weight: 20, arbitrary: fc.uint8Array({ maxLength: 64 }) },
  { weight: 2, arbitrary: fc.uint8Array({ minLength: 1000, maxLength: 3000 }) },
  { weight: 1, arbitrary: fc.uint8Array({ minLength: 4100, maxLength: 20000 }) },
);

const entryArb = fc.letrec<{ entry: BboltEntry; bucket: BboltEntry }>((tie) => ({
  entry: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.record(
      {
        kind: fc.constant('value' as const),
        key: keyArb.map(toBuffer),
        value: valueArb.map(toBuffer),
      },
      { noNullPrototype: true },
    ),
    tie('bucket'),
  ),
  bucket: fc.record(
    {
      kind: fc.constant('bucket' as const),
      key: keyArb.map(toBuffer),
      entries: fc.uniqueArray(tie('entry'), {
        maxLength: 12,
        selector: (e) => e.key.toString('hex'),
      }),
    },
    { noNullPrototype: true },
  ),
}));

const bucketsArb = fc.uniqueArray(entryArb.bucket, {
  maxLength: 6,
  selector: (e) => e.key.toString('hex'),
});

// A bucket with thousands of small keys forces several branch levels.
const wideBucketArb = fc
  .tuple(fc.integer({ min: 2000, max: 40000 }), fc.integer({ min: 0, max: 40 }))
  .map(
    ([count, valueSize]): BboltEntry => ({
      kind: 'bucket',
      key: Buffer.from('wide'),
      entries: Array.from({ length: count }, (_, i) => ({
        kind: 'value' as const,
        key: Buffer.from(`key-${String(i).padStart(6, '0')}`),
        value: Buffer.alloc(valueSize, i % 251),
      })),
    }),
  );

let fileNumber = 0;

async function roundTrip(buckets: BboltEntry[]): Promise<void> {
  const path = join(dir, `t${fileNumber++}.db`);
  await writeBboltTree(path, buckets);

  assert.deepEqual(readBboltTree(path).buckets, sortBboltEntries(buckets));
  rmSync(path);
}

describe('bbolt writer and reader', () => {
  describe('round trip', () => {
    describe('when given random nested bucket trees', () => {
      it('returns the same tree, sorted byte-wise', async () => {
        await fc.assert(fc.asyncProperty(bucketsArb, roundTrip), { numRuns: 150 });
      });
    });

    describe('when a bucket holds enough keys for several branch levels', () => {
      it('returns every key in order', async () => {
        await fc.assert(
          fc.asyncProperty(wideBucketArb, (wide) => roundTrip([wide])),
          { numRuns: 6 },
        );
      });
    });
  });
});
