import { StellaError } from '../domain/errors.js';
import { MAX_DOCUMENT_BYTES, MAX_NESTING_DEPTH } from './decode-tree.js';

// The bounds one ingested document must stay within. Size and depth are fixed (they guard
// the parser itself); the SBOM component count is configurable because real images range
// from a handful of packages to a few hundred thousand.
export interface IngestLimits {
  maxDocumentBytes: number;
  maxNestingDepth: number;
  maxSbomComponents: number;
}

export const DEFAULT_MAX_SBOM_COMPONENTS = 200_000;

export const DEFAULT_INGEST_LIMITS: IngestLimits = {
  maxDocumentBytes: MAX_DOCUMENT_BYTES,
  maxNestingDepth: MAX_NESTING_DEPTH,
  maxSbomComponents: DEFAULT_MAX_SBOM_COMPONENTS,
};

export const MAX_SBOM_COMPONENTS_ENV = 'STELLA_INGEST_MAX_SBOM_COMPONENTS';

// The limits as the environment sets them: STELLA_INGEST_MAX_SBOM_COMPONENTS, a positive
// integer; unset keeps the default.
export function ingestLimitsFromEnv(env: NodeJS.ProcessEnv): IngestLimits {
  const raw = env[MAX_SBOM_COMPONENTS_ENV];
  if (raw === undefined || raw.trim() === '') {
    return DEFAULT_INGEST_LIMITS;
  }

  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value < 1) {
    const shown = JSON.stringify(raw);
    throw new StellaError('bad_request', `${MAX_SBOM_COMPONENTS_ENV} must be a positive integer, not ${shown}`);
  }

  return { ...DEFAULT_INGEST_LIMITS, maxSbomComponents: value };
}
