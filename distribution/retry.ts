import { setTimeout as sleep } from 'node:timers/promises';
import { isStellaError } from '../domain/errors.js';

export interface RetryOptions {
  attempts: number;
  initialDelayMs: number;
  maxDelayMs: number;
  // Which failures are worth another attempt (default: isTransient).
  retryable?: (err: unknown) => boolean;
  // Called before each wait, e.g. to heartbeat or to note the failure.
  onRetry?: (err: unknown, attempt: number, delayMs: number) => void;
  signal?: AbortSignal;
}

export const DEFAULT_RETRY: RetryOptions = { attempts: 8, initialDelayMs: 250, maxDelayMs: 8_000 };

// Only failures a later attempt can fix are retried: dropped connections and answers in
// the 5xx/429 range. Refused credentials or a malformed request fail at once.
export async function withRetry<T>(
  action: (attempt: number) => Promise<T>,
  options: RetryOptions = DEFAULT_RETRY,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await action(attempt);
    } catch (err) {
      const retryable = options.retryable ?? isTransient;
      if (attempt >= options.attempts || !retryable(err) || options.signal?.aborted) {
        throw err;
      }

      const delay = backoffDelay(attempt, options);
      options.onRetry?.(err, attempt, delay);
      await sleep(delay, undefined, { signal: options.signal });
    }
  }
}

// Exponential with full jitter, so parallel clients do not retry in lockstep.
export function backoffDelay(attempt: number, options: RetryOptions): number {
  const ceiling = Math.min(options.maxDelayMs, options.initialDelayMs * 2 ** (attempt - 1));

  return Math.round(ceiling / 2 + (Math.random() * ceiling) / 2);
}

export class TransientError extends Error {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, options);
    this.name = 'TransientError';
  }
}

const TRANSIENT_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EAI_AGAIN',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_CLOSED',
]);

export function isTransient(err: unknown): boolean {
  if (err instanceof TransientError) {
    return true;
  }
  if (isStellaError(err)) {
    return err.code === 'unavailable';
  }

  return causeChain(err).some((link) => isConnectionFailure(link));
}

function isConnectionFailure(err: unknown): boolean {
  const code = (err as { code?: unknown } | undefined)?.code;
  if (typeof code === 'string' && TRANSIENT_CODES.has(code)) {
    return true;
  }
  // undici reports a dropped connection as a bare TypeError('fetch failed').
  const message = (err as Error | undefined)?.message ?? '';

  return err instanceof TypeError && /fetch failed|terminated|other side closed/.test(message);
}

function causeChain(err: unknown): unknown[] {
  const chain: unknown[] = [];
  for (let link = err; link !== undefined && chain.length < 8; link = (link as Error).cause) {
    chain.push(link);
    if (!(link instanceof Error)) {
      break;
    }
  }

  return chain;
}

export function isRetryableStatus(status: number): boolean {
  return status >= 500 || status === 429 || status === 408;
}
