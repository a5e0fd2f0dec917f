import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createTenantRateLimiter } from '../../../api/auth/tenant-rate-limit.js';

describe('tenant rate limiter', () => {
  describe('take', () => {
    it('returns allowed for a burst, then refused with the seconds until the next token', () => {
      let now = 0;
      const limiter = createTenantRateLimiter({ burst: 2, perMinute: 6, now: () => now });

      assert.equal(limiter.take('acme').allowed, true);
      assert.equal(limiter.take('acme').allowed, true);
      assert.deepEqual(limiter.take('acme'), { allowed: false, retryAfterSeconds: 10 });
      now = 10_000;
      assert.equal(limiter.take('acme').allowed, true);
    });

    describe('when one tenant has used its burst', () => {
      it('returns allowed for another tenant', () => {
        const limiter = createTenantRateLimiter({ burst: 1, perMinute: 1, now: () => 0 });
        limiter.take('acme');

        assert.equal(limiter.take('acme').allowed, false);
        assert.equal(limiter.take('globex').allowed, true);
      });
    });
  });
});
