import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';

import fc from 'fast-check';

import { ExternalSorter, compareUtf8 } from '../../../adapters/trivy/external-sort.js';

const dir = mkdtempSync(join(tmpdir(), 'ext-sort-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const byBytes = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));
const special = fc.constantFrom('a', 'b', '\u00e9', '\uffee', '\u{1f600}', '\u0000');
const keyArb = fc
  .array(fc.oneof(special, fc.string({ unit: 'grapheme', maxLength: 1 })), { maxLength: 6 })
  .map((parts) => parts.join(''));

describe('compareUtf8', () => {
  describe('when strings mix BMP characters above U+E000 and astral characters', () => {
    it('returns the sign of a byte-wise comparison of their UTF-8 encodings', () => {
      fc.assert(
        fc.property(
          keyArb,
          keyArb,
          (a, b) => Math.sign(compareUtf8(a, b)) === Math.sign(byBytes(a, b)),
        ),
        { numRuns: 2000 },
      );
    });
  });
});

describe('ExternalSorter', () => {
  describe('sorted', () => {
    describe('when the records exceed the memory budget many times', () => {
      it('returns every record in UTF-8 key order', async () => {
        await fc.assert(
          fc.asyncProperty(
            fc.array(fc.tuple(keyArb, fc.integer()), { maxLength: 400 }),
            async (records) => {
              const work = mkdtempSync(join(dir, 'p-'));
              const sorter = new ExternalSorter<number>(work, 512);
              for (const [key, payload] of records) await sorter.add(key, payload);
              const out: string[] = [];
              for await (const r of sorter.sorted()) out.push(r.key);

              assert.deepEqual(out, records.map(([k]) => k).sort(byBytes));
            },
          ),
          { numRuns: 40 },
        );
      });
    });

    describe('when more runs exist than one merge pass takes', () => {
      it('returns all records after intermediate merges', async () => {
        const work = mkdtempSync(join(dir, 'fan-'));
        const sorter = new ExternalSorter<number>(work, 1);
        const keys = Array.from({ length: 300 }, (_, i) => `k${(i * 7919) % 300}`);
        for (const [i, key] of keys.entries()) await sorter.add(key, i);
        const out: string[] = [];
        for await (const r of sorter.sorted()) out.push(r.key);

        assert.deepEqual(out, [...keys].sort(byBytes));
        assert.ok(readdirSync(work).length > 64);
      });
    });
  });
});
