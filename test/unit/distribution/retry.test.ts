import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { StellaError } from '../../../domain/errors.js';
import {
  backoffDelay,
  isTransient,
  TransientError,
  withRetry,
} from '../../../distribution/retry.js';

const fast = { attempts: 4, initialDelayMs: 1, maxDelayMs: 2 };

describe('retry', () => {
  describe('withRetry', () => {
    describe('when the action fails twice with a dropped connection', () => {
      it('returns the third result', async () => {
        let calls = 0;
        const result = await withRetry(async () => {
          calls++;
          if (calls < 3) {
            throw Object.assign(new TypeError('fetch failed'), { cause: { code: 'ECONNRESET' } });
          }

          return 'ok';
        }, fast);

        assert.equal(result, 'ok');
        assert.equal(calls, 3);
      });
    });

    describe('when the action is denied', () => {
      it('throws at once without another attempt', async () => {
        let calls = 0;
        const attempt = withRetry(async () => {
          calls++;
          throw new StellaError('denied', 'no');
        }, fast);

        await assert.rejects(
          attempt,
          (err: unknown) => err instanceof StellaError && err.code === 'denied',
        );
        assert.equal(calls, 1);
      });
    });

    describe('when every attempt fails transiently', () => {
      it('throws the last failure after the allowed attempts', async () => {
        let calls = 0;
        const attempt = withRetry(async () => {
          calls++;
          throw new TransientError(`HTTP 503 #${calls}`);
        }, fast);

        await assert.rejects(attempt, /HTTP 503 #4/);
      });
    });
  });

  describe('isTransient', () => {
    describe('when given a connection refusal wrapped by fetch', () => {
      it('returns true', () => {
        const err = new TypeError('fetch failed', {
          cause: Object.assign(new Error('connect'), { code: 'ECONNREFUSED' }),
        });

        assert.equal(isTransient(err), true);
      });
    });

    describe('when given a plain programming error', () => {
      it('returns false', () => {
        assert.equal(isTransient(new RangeError('bad offset')), false);
      });
    });
  });

  describe('backoffDelay', () => {
    describe('for later attempts', () => {
      it('returns delays that grow and stay under the ceiling', () => {
        const options = { attempts: 10, initialDelayMs: 100, maxDelayMs: 1000 };

        assert.ok(backoffDelay(1, options) <= 100);
        assert.ok(backoffDelay(3, options) >= 200);
        assert.ok(backoffDelay(9, options) <= 1000);
      });
    });
  });
});
