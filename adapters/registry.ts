import { StellaError } from '../domain/errors.js';
import type { ProfileKind } from '../domain/profiles.js';
import type { ExportAdapter } from './export-adapter.js';
import { jsonPolicyAdapter } from './json/json-policy-adapter.js';
import { jsonRawAdapter } from './json/json-raw-adapter.js';
import { mirrorDeltaAdapter } from './mirror/mirror-delta-adapter.js';
import { mirrorFullAdapter } from './mirror/mirror-full-adapter.js';
import { withSchemaGuard } from './schema-guard.js';
import { trivyDbAdapter, trivyJavaDbAdapter } from './trivy/trivy-db-adapter.js';

// Every adapter is wrapped in the shared schema-drift guard: the records it emits must fit
// the allow-lists in record-schemas.ts or the run fails with schema_mismatch.
const ADAPTERS: Partial<Record<ProfileKind, ExportAdapter>> = {
  'json:policy': withSchemaGuard(jsonPolicyAdapter),
  'json:raw': withSchemaGuard(jsonRawAdapter),
  'mirror:delta': withSchemaGuard(mirrorDeltaAdapter),
  'mirror:full': withSchemaGuard(mirrorFullAdapter),
  'trivy:db': withSchemaGuard(trivyDbAdapter),
  'trivy:java-db': withSchemaGuard(trivyJavaDbAdapter),
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
