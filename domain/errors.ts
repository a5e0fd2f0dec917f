// The closed vocabulary of failures. The API status, the CLI exit code and the tests all
// key off `code`; messages are for people and may change.
export const ERROR_CLASSES = [
  'bad_request',
  'unauthenticated',
  'denied',
  'not_found',
  'conflict',
  'rate_limited',
  'schema_mismatch',
  'unsupported_profile',
  'unrecognized_document',
  'malformed_document',
  'integrity_failed',
  'storage_full',
  'export_failed',
  'cancelled',
  'unavailable',
  'internal',
] as const;

export type ErrorClass = (typeof ERROR_CLASSES)[number];

// Failures that retrying cannot fix: bad input, missing things, refusals, a full disk (it
// does not empty itself within a retry window). Activities raise these as not retryable.
export const NON_RETRYABLE_CLASSES: readonly ErrorClass[] = [
  'bad_request',
  'not_found',
  'schema_mismatch',
  'unsupported_profile',
  'integrity_failed',
  'denied',
  'storage_full',
];

export class StellaError extends Error {
  readonly code: ErrorClass;
  readonly details?: Record<string, unknown>;

  constructor(
    code: ErrorClass,
    message: string,
    options: { cause?: unknown; details?: Record<string, unknown> } = {},
  ) {
    super(message, { cause: options.cause });
    this.name = 'StellaError';
    this.code = code;
    this.details = options.details;
  }
}

export function isStellaError(err: unknown): err is StellaError {
  return err instanceof StellaError;
}

export function isErrorClass(value: unknown): value is ErrorClass {
  return typeof value === 'string' && (ERROR_CLASSES as readonly string[]).includes(value);
}

export const HTTP_STATUS_BY_CLASS: Record<ErrorClass, number> = {
  bad_request: 400,
  unauthenticated: 401,
  denied: 403,
  not_found: 404,
  conflict: 409,
  rate_limited: 429,
  schema_mismatch: 422,
  unsupported_profile: 422,
  unrecognized_document: 422,
  malformed_document: 422,
  integrity_failed: 422,
  storage_full: 507,
  export_failed: 500,
  cancelled: 409,
  unavailable: 503,
  internal: 500,
};

// CLI exit codes: 0 ok, 2 bad args, 4 not found, 5 denied, 6 integrity failed, 8 export error.
export const EXIT_CODE_BY_CLASS: Record<ErrorClass, number> = {
  bad_request: 2,
  unauthenticated: 5,
  denied: 5,
  not_found: 4,
  conflict: 2,
  rate_limited: 8,
  schema_mismatch: 8,
  unsupported_profile: 8,
  unrecognized_document: 2,
  malformed_document: 2,
  integrity_failed: 6,
  storage_full: 8,
  export_failed: 8,
  cancelled: 8,
  unavailable: 8,
  internal: 8,
};
