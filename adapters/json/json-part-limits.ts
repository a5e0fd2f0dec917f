import { z } from 'zod';
import {
  DEFAULT_PART_BYTES,
  DEFAULT_PART_RECORDS,
  type PartLimits,
} from '../../bundle/sharded-jsonl.js';
import { StellaError } from '../../domain/errors.js';

// The profile options that bound one JSONL data file of a json:raw or json:policy bundle.
// `partBytes` counts uncompressed JSONL bytes. The API's profile config schema is meant
// to take these fields as they are (api/routes/profiles.ts).
export const jsonPartLimitsSchema = z.object({
  partBytes: z.number().int().min(1024).max(16 * 1024 * 1024 * 1024).optional(),
  partRecords: z.number().int().min(1).max(1_000_000_000).optional(),
});

// The limits a profile asks for, or the defaults. Tests and benchmarks may set smaller
// limits than the API allows, so only the shape is enforced here.
export function jsonPartLimitsOf(profileConfig: Record<string, unknown>): PartLimits {
  return {
    bytes: positiveOr(profileConfig, 'partBytes', DEFAULT_PART_BYTES),
    records: positiveOr(profileConfig, 'partRecords', DEFAULT_PART_RECORDS),
  };
}

function positiveOr(config: Record<string, unknown>, key: string, fallback: number): number {
  const value = config[key];
  if (value === undefined) {
    return fallback;
  }
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
    throw new StellaError('bad_request', `profile option ${key} must be a positive integer`);
  }

  return value;
}
