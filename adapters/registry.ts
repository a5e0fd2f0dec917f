import { StellaError } from '../domain/errors.js';
import type { ProfileKind } from '../domain/profiles.js';
import type { ExportAdapter } from './export-adapter.js';
import { jsonRawAdapter } from './json/json-raw-adapter.js';

const ADAPTERS: Partial<Record<ProfileKind, ExportAdapter>> = {
  'json:raw': jsonRawAdapter,
};

export function isSupportedKind(kind: ProfileKind): boolean {
  return ADAPTERS[kind] !== undefined;
}

// Kinds without an adapter refuse to run rather than produce a placeholder bundle.
export function adapterFor(kind: ProfileKind): ExportAdapter {
  const adapter = ADAPTERS[kind];
  if (!adapter) {
    throw new StellaError('unsupported_profile', `profile kind ${kind} is not supported yet`);
  }

  return adapter;
}
