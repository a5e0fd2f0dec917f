// Cross-checks our writer against the real bbolt library (bench/peers/bbolt-check, built with
// Go on first use). Skipped, with the build error, where no Go toolchain is available.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import fc from 'fast-check';

import { type BboltEntry, sortBboltEntries, writeBboltTree } from '../../../bbolt/tree.js';
import { ensureBboltCheck, runBboltCheck } from '../../support/bbolt-check.js';

const dir = mkdtempSync(join(tmpdir(), 'bbolt-go-'));
after(() => rmSync(dir, { recursive: true, force: true }));

let checker: string | undefined;
let skipReason: string | undefined;
before(async () => {
  const built = await ensureBboltCheck();
  if ('path' in built) checker = built.path;
  else skipReason = built.reason;
});

const bytes = (maxLength: number, minLength = 0) =>
  fc.uint8Array({ minLength, maxLength }).map((b) => Buffer.from(b));

const entryArb = fc.letrec<{ entry: BboltEntry; bucket: BboltEntry }>((tie) => ({
  entry: fc.oneof(
    { depthSize: 'small' },
    fc.record(
      {
        kind: fc.constant('value' as const),
        key: bytes(16, 1),
        value: fc.oneof(
          { weight: 8, arbitrary: bytes(40) },
          { weight: 1, arbitrary: bytes(9000, 4000) },
        ),
      },
      { noNullPrototype: true },
    ),
    tie('bucket'),
  ),
  bucket: fc.record(
    {
      kind: fc.constant('bucket' as const),
      key: bytes(16, 1),
      entries: fc.uniqueArray(tie('entry'), {
        maxLength: 30,
        selector: (e) => e.key.toString('hex'),
      }),
    },
    { noNullPrototype: true },
  ),
}));

const bucketsArb = fc.uniqueArray(entryArb.bucket, {
  maxLength: 5,
  selector: (e) => e.key.toString('hex'),
});

const wideBucket: BboltEntry = {
  kind: 'bucket',
  key: Buffer.from('wide'),
  entries: Array.from({ length: 30000 }, (_, i) => ({
    kind: 'value' as const,
    key: Buffer.from(`k${String(i).padStart(7, '0')}`),
    value: Buffer.from(`v${i}`),
  })),
};

let fileNumber = 0;

async function checkWithBbolt(buckets: BboltEntry[]): Promise<void> {
  const path = join(dir, `g${fileNumber++}.db`);
  await writeBboltTree(path, buckets);
  const report = await runBboltCheck(checker as string, path);

  assert.deepEqual(report.errors, []);
  assert.deepEqual(report.buckets, sortBboltEntries(buckets));
}

describe('bbolt writer against go.etcd.io/bbolt v1.5.0', () => {
  describe('Tx.Check and a full read-only walk', () => {
    describe('when given random nested trees with big values', () => {
      it('returns no check error and the tree that was written', async (t) => {
        if (!checker) return t.skip(skipReason);

        await fc.assert(fc.asyncProperty(bucketsArb, checkWithBbolt), { numRuns: 25 });
      });
    });

    describe('when a bucket needs several branch levels', () => {
      it('returns no check error and every key', async (t) => {
        if (!checker) return t.skip(skipReason);

        await checkWithBbolt([
          wideBucket,
          { kind: 'bucket', key: Buffer.from('empty'), entries: [] },
        ]);
      });
    });
  });
});
