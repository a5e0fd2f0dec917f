import { StellaError, type ErrorClass } from '../../domain/errors.js';
import { isTransient } from '../retry.js';

interface SdkError {
  name?: string;
  message?: string;
  $retryable?: unknown;
  $metadata?: { httpStatusCode?: number };
}

const DENIED = new Set([
  'AccessDenied',
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'Forbidden',
]);
const MISSING = new Set(['NoSuchBucket']);
// The server computed another checksum than the one we sent: the bytes changed on the way.
const CORRUPTED = new Set(['XAmzContentChecksumMismatch', 'BadDigest', 'InvalidDigest']);
const SLOW = new Set([
  'TimeoutError',
  'RequestTimeout',
  'SlowDown',
  'InternalError',
  'ServiceUnavailable',
]);

// Connection failures, throttling and 5xx answers are worth another attempt; a server that
// is still starting up answers 503 too.
export function isTransientS3Error(err: unknown): boolean {
  const sdk = err as SdkError | undefined;
  const status = sdk?.$metadata?.httpStatusCode ?? 0;

  return (
    isTransient(err) ||
    status >= 500 ||
    status === 429 ||
    SLOW.has(sdk?.name ?? '') ||
    Boolean(sdk?.$retryable)
  );
}

export function toS3DomainError(err: unknown, action: string): StellaError {
  if (err instanceof StellaError) {
    return err;
  }

  const sdk = err as SdkError;
  const status = sdk?.$metadata?.httpStatusCode ?? 0;
  const code = s3ErrorClass(sdk?.name ?? '', status, err);

  return new StellaError(
    code,
    `S3 ${action}: ${sdk?.name ?? 'error'}: ${sdk?.message ?? String(err)}`,
    { cause: err },
  );
}

function s3ErrorClass(name: string, status: number, err: unknown): ErrorClass {
  if (DENIED.has(name) || status === 403 || status === 401) {
    return 'denied';
  }
  if (MISSING.has(name)) {
    return 'not_found';
  }
  if (CORRUPTED.has(name)) {
    return 'integrity_failed';
  }

  return isTransientS3Error(err) ? 'unavailable' : 'export_failed';
}
