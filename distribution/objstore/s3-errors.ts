import { StellaError, type ErrorClass } from '../../domain/errors.js';
import { isTransient } from '../retry.js';

interface SdkError {
  name?: string;
  message?: string;
  $retryable?: unknown;
  $metadata?: { httpStatusCode?: number };
}

const DENIED = new Set(['AccessDenied', 'InvalidAccessKeyId', 'SignatureDoesNotMatch', 'Forbidden']);
const MISSING = new Set(['NoSuchBucket']);
const SLOW = new Set(['TimeoutError', 'RequestTimeout', 'SlowDown', 'InternalError', 'ServiceUnavailable']);

// Connection failures, throttling and 5xx answers are worth another attempt; a server that
// is still starting up answers 503 too.
export function isTransientS3Error(err: unknown): boolean {
  const sdk = err as SdkError | undefined;
  const status = sdk?.$metadata?.httpStatusCode ?? 0;

  return isTransient(err) || status >= 500 || status === 429 || SLOW.has(sdk?.name ?? '') || Boolean(sdk?.$retryable);
}

export function toS3DomainError(err: unknown, action: string): StellaError {
  if (err instanceof StellaError) {
    return err;
  }

  const sdk = err as SdkError;
  const status = sdk?.$metadata?.httpStatusCode ?? 0;
  const code: ErrorClass = DENIED.has(sdk?.name ?? '') || status === 403 || status === 401
    ? 'denied'
    : MISSING.has(sdk?.name ?? '')
      ? 'not_found'
      : isTransientS3Error(err)
        ? 'unavailable'
        : 'export_failed';

  return new StellaError(code, `S3 ${action}: ${sdk?.name ?? 'error'}: ${sdk?.message ?? String(err)}`, { cause: err });
}
