import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { StellaError } from '../../../domain/errors.js';
import {
  distributeRequestSchema,
  distributionWorkflowId,
  normalizeTarget,
} from '../../../distribution/distribution-request.js';
import { objectKey, parseS3Target } from '../../../distribution/objstore/s3-target.js';

describe('distribution request', () => {
  describe('normalizeTarget', () => {
    describe('when an S3 target has trailing slashes', () => {
      it('returns one spelling without them', () => {
        assert.equal(
          normalizeTarget('objstore', 's3://exports/stella/run/'),
          's3://exports/stella/run',
        );
      });
    });

    describe('when an S3 target has a dot segment', () => {
      it('throws bad_request', () => {
        assert.throws(
          () => normalizeTarget('objstore', 's3://exports/a/../b'),
          (err: unknown) => err instanceof StellaError && err.code === 'bad_request',
        );
      });
    });
  });

  describe('distributionWorkflowId', () => {
    describe('for a run, a type and a target', () => {
      it('returns <runId>--dist--<type>--<hash>, stable and distinct per target', () => {
        const id = distributionWorkflowId('run_default_1', 'oci', '127.0.0.1:5000/a:1');

        assert.match(id, /^run_default_1--dist--oci--[0-9a-f]{16}$/);
        assert.equal(id, distributionWorkflowId('run_default_1', 'oci', '127.0.0.1:5000/a:1'));
        assert.notEqual(id, distributionWorkflowId('run_default_1', 'oci', '127.0.0.1:5000/a:2'));
      });
    });
  });

  describe('distributeRequestSchema', () => {
    describe('when the body has an unknown field', () => {
      it('throws', () => {
        assert.throws(() =>
          distributeRequestSchema.parse({
            type: 'oci',
            target: 'r.example/a',
            endpoint: 'http://x',
          }),
        );
      });
    });
  });

  describe('objectKey', () => {
    describe('when the prefix is the bucket root', () => {
      it('returns the bare name', () => {
        assert.equal(objectKey(parseS3Target('s3://exports'), 'export.json'), 'export.json');
        assert.equal(
          objectKey(parseS3Target('s3://exports/p/q'), 'export.json'),
          'p/q/export.json',
        );
      });
    });
  });
});
