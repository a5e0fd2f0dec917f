// A token bucket per tenant, in this process's memory: each tenant may start `burst` runs
// at once and then `perMinute` a minute. Several API replicas each keep their own buckets
// (so the real limit is replicas × the configured one) and a restart refills them; a shared
// limiter (Redis, the database) would be needed for an exact cluster-wide limit.

export interface RateLimitOptions {
  burst: number;
  perMinute: number;
  now?: () => number;
}

export interface RateDecision {
  allowed: boolean;
  retryAfterSeconds: number;
}

export interface TenantRateLimiter {
  take(tenant: string): RateDecision;
}

interface Bucket {
  tokens: number;
  updatedAt: number;
}

export function createTenantRateLimiter(options: RateLimitOptions): TenantRateLimiter {
  const now = options.now ?? Date.now;
  const perMs = options.perMinute / 60_000;
  const buckets = new Map<string, Bucket>();

  return {
    take: (tenant) => {
      const bucket = refilled(buckets.get(tenant), options.burst, perMs, now());
      buckets.set(tenant, bucket);
      if (bucket.tokens >= 1) {
        bucket.tokens -= 1;

        return { allowed: true, retryAfterSeconds: 0 };
      }

      return { allowed: false, retryAfterSeconds: Math.ceil((1 - bucket.tokens) / perMs / 1000) };
    },
  };
}

export function rateLimitFromEnv(env: NodeJS.ProcessEnv = process.env): RateLimitOptions {
  return {
    burst: positive(env.STELLA_RUN_RATE_BURST, 20),
    perMinute: positive(env.STELLA_RUN_RATE_PER_MINUTE, 30),
  };
}

function refilled(bucket: Bucket | undefined, burst: number, perMs: number, at: number): Bucket {
  if (!bucket) {
    return { tokens: burst, updatedAt: at };
  }

  const tokens = Math.min(burst, bucket.tokens + (at - bucket.updatedAt) * perMs);

  return { tokens, updatedAt: at };
}

function positive(text: string | undefined, fallback: number): number {
  const value = Number(text);

  return Number.isFinite(value) && value > 0 ? value : fallback;
}
