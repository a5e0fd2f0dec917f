import type { ErrorRequestHandler } from 'express';
import { ZodError } from 'zod';
import {
  HTTP_STATUS_BY_CLASS,
  isStellaError,
  StellaError,
  type ErrorClass,
} from '../domain/errors.js';
import type { Logger } from '../platform/logger.js';

export interface ErrorBody {
  error_class: ErrorClass;
  message: string;
  details?: Record<string, unknown>;
}

// HTTP → domain, once: every failure leaves the API as {error_class, message} with the
// status that class maps to. Unknown errors are logged and answered as `internal`.
export function errorHandler(logger: Logger): ErrorRequestHandler {
  return (err, req, res, _next) => {
    if (res.headersSent) {
      // A streamed answer failed midway (often the client went away): nothing to add.
      res.destroy();

      return;
    }
    const domain = toDomainError(err);
    const status = HTTP_STATUS_BY_CLASS[domain.code];
    if (status >= 500) {
      logger.error({ err, method: req.method, path: req.path }, 'Request failed');
    }
    const body: ErrorBody = { error_class: domain.code, message: domain.message };
    if (domain.details) {
      body.details = domain.details;
    }
    res.status(status).json(body);
  };
}

export function toDomainError(err: unknown): StellaError {
  if (isStellaError(err)) {
    return err;
  }
  if (err instanceof ZodError) {
    return new StellaError('bad_request', describeZodError(err), {
      cause: err,
      details: { issues: err.issues.map((i) => ({ path: i.path.join('.'), message: i.message })) },
    });
  }
  const http = err as { status?: number; type?: string; message?: string };
  if (http?.type === 'entity.too.large') {
    return new StellaError('bad_request', 'request body is too large', { cause: err });
  }
  if (http?.status === 400 || http?.type === 'entity.parse.failed') {
    return new StellaError('bad_request', 'request body is not valid JSON', { cause: err });
  }

  return new StellaError('internal', 'internal error', { cause: err });
}

function describeZodError(err: ZodError): string {
  return err.issues
    .map((issue) => (issue.path.length ? `${issue.path.join('.')}: ${issue.message}` : issue.message))
    .join('; ');
}
