import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  bundleObjectOf,
  MAX_PRESIGN_SECONDS,
  presignObjectGet,
} from '../../../distribution/objstore/presigned-url.js';
import { StellaError } from '../../../domain/errors.js';

const connection = {
  endpoint: 'http://127.0.0.1:9000',
  credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret-example-key' },
};

function isCode(code: string) {
  return (err: unknown) => {
    assert.ok(err instanceof StellaError);
    assert.equal(err.code, code);

    return true;
  };
}

describe('presignObjectGet', () => {
  describe('when the endpoint is S3-compatible', () => {
    it('returns a path-style SigV4 URL that lives as long as asked', async () => {
      const now = new Date('2026-12-04T10:00:00Z');
      const signed = await presignObjectGet({
        connection,
        bucket: 'exports',
        key: 'nightly/run_1.tar.zst',
        expiresInSeconds: 600,
        now,
      });
      const url = new URL(signed.url);

      assert.equal(url.origin, 'http://127.0.0.1:9000');
      assert.equal(url.pathname, '/exports/nightly/run_1.tar.zst');
      assert.equal(url.searchParams.get('X-Amz-Expires'), '600');
      assert.equal(url.searchParams.get('X-Amz-Date'), '20261204T100000Z');
      assert.match(url.searchParams.get('X-Amz-Credential') ?? '', /^AKIDEXAMPLE\//);
      assert.equal(signed.expiresAt, '2026-12-04T10:10:00.000Z');
    });
  });

  describe('when the lifetime is outside 1 second to 7 days', () => {
    it('throws bad_request', async () => {
      for (const seconds of [0, MAX_PRESIGN_SECONDS + 1, 1.5]) {
        await assert.rejects(
          presignObjectGet({ connection, bucket: 'exports', key: 'k', expiresInSeconds: seconds }),
          isCode('bad_request'),
        );
      }
    });
  });
});

describe('bundleObjectOf', () => {
  const metadata = {
    bucket: 'exports',
    prefix: 'nightly',
    objects: [
      { key: 'nightly/export.json', sha256: 'a'.repeat(64), size: 10 },
      { key: 'nightly/run_1.tar.zst', sha256: 'b'.repeat(64), size: 20 },
    ],
  };

  describe('when the distribution uploaded the archive', () => {
    it('returns the bucket, key, sha256 and size of <runId>.tar.zst', () => {
      assert.deepEqual(bundleObjectOf(metadata, 'run_1'), {
        bucket: 'exports',
        key: 'nightly/run_1.tar.zst',
        sha256: 'b'.repeat(64),
        size: 20,
      });
    });
  });

  describe('when the metadata names no archive of that run', () => {
    it('returns undefined', () => {
      assert.equal(bundleObjectOf(metadata, 'run_2'), undefined);
      assert.equal(bundleObjectOf({}, 'run_1'), undefined);
    });
  });
});
