import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { jsonPartLimitsOf, jsonPartLimitsSchema } from '../../../adapters/json/json-part-limits.js';
import { DEFAULT_PART_BYTES, DEFAULT_PART_RECORDS } from '../../../bundle/sharded-jsonl.js';
import type { StellaError } from '../../../domain/errors.js';

describe('jsonPartLimitsOf', () => {
  describe('when the profile sets no limits', () => {
    it('returns 256 MiB and one million records', () => {
      assert.deepEqual(jsonPartLimitsOf({}), { bytes: DEFAULT_PART_BYTES, records: DEFAULT_PART_RECORDS });
      assert.equal(DEFAULT_PART_BYTES, 268_435_456);
    });
  });

  describe('when the profile sets both', () => {
    it('returns them', () => {
      assert.deepEqual(jsonPartLimitsOf({ partBytes: 4096, partRecords: 7 }), { bytes: 4096, records: 7 });
    });
  });

  describe('when a limit is not a positive integer', () => {
    it('throws bad_request naming the option', () => {
      for (const config of [{ partBytes: 0 }, { partRecords: 1.5 }, { partBytes: '1024' }]) {
        assert.throws(
          () => jsonPartLimitsOf(config),
          (err: StellaError) => err.code === 'bad_request' && err.message.includes(Object.keys(config)[0]),
          JSON.stringify(config),
        );
      }
    });
  });
});

describe('jsonPartLimitsSchema', () => {
  describe('when a profile config asks for parts under 1 KiB', () => {
    it('returns a failed parse', () => {
      assert.equal(jsonPartLimitsSchema.safeParse({ partBytes: 512 }).success, false);
      assert.equal(jsonPartLimitsSchema.safeParse({ partBytes: 1024, partRecords: 10 }).success, true);
    });
  });
});
