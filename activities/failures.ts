import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { isStellaError, NON_RETRYABLE_CLASSES, StellaError } from '../domain/errors.js';
import type { Logger } from '../platform/logger.js';


// The one place where an activity's error becomes a Temporal failure: its `type` carries
// the error class to the workflow and on to the API. Bad input is raised as not retryable
// on purpose; anything else is retried by the workflow's policy.
export function asActivityFailure(err: unknown, log: Logger): unknown {
  if (err instanceof CancelledFailure || err instanceof ApplicationFailure) {
    return err;
  }

  const domain = toDomainError(err);
  log.warn({ errorClass: domain.code, err: domain.message }, 'Activity failed');

  return ApplicationFailure.create({
    message: domain.message,
    type: domain.code,
    nonRetryable: NON_RETRYABLE_CLASSES.includes(domain.code),
    cause: err instanceof Error ? err : undefined,
  });
}

function toDomainError(err: unknown): StellaError {
  if (isStellaError(err)) {
    return err;
  }
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ENOSPC' || code === 'EDQUOT') {
    return new StellaError('storage_full', 'no space left for the bundle', { cause: err });
  }
  if ((err as Error | undefined)?.name === 'ZodError') {
    return new StellaError('bad_request', (err as Error).message, { cause: err });
  }

  return new StellaError('export_failed', (err as Error)?.message ?? String(err), { cause: err });
}
