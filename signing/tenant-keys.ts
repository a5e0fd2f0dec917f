// Signing keys per tenant: each tenant has its own registry (keys.json and PEM files) under
// <keysDir>/tenants/<tenant>/, so one tenant's rotation or compromise marking never touches
// another's keys. The registry at <keysDir> itself holds the keys of the deployment-wide era
// (before keys were per tenant): every tenant's key set lists them, as retired, so bundles
// signed then still verify, and a tenant may mark one compromised for itself alone.
import { join } from 'node:path';

import { StellaError } from '../domain/errors.js';
import { isValidTenant } from '../platform/ids.js';
import {
  emptyRegistry,
  ensureKeysDir,
  readRegistry,
  toPublishedJwk,
  withRegistryLock,
  writeRegistry,
  type KeyEntry,
  type KeyRegistry,
} from './key-registry.js';
import {
  loadLocalSigner,
  rotateLocalKey,
  type LocalKeyAlgorithm,
  type RotateKeyResult,
} from './local-key-signer.js';
import type { JWKS, Signer } from './signer.js';

export const TENANTS_DIR = 'tenants';

export interface TenantKeysOptions {
  keysDir: string; // the deployment's keys folder
  tenant: string;
}

export interface TenantRotateOptions extends TenantKeysOptions {
  algorithm?: LocalKeyAlgorithm;
}

export interface TenantCompromiseOptions extends TenantKeysOptions {
  keyId: string;
}

// Tenant names are path-safe by construction ([a-z0-9][a-z0-9-]{0,62}); anything else is
// refused before it can name a folder.
export function tenantKeysDir(keysDir: string, tenant: string): string {
  if (!isValidTenant(tenant)) {
    throw new StellaError('bad_request', `${JSON.stringify(tenant)} is not a tenant name`);
  }

  return join(keysDir, TENANTS_DIR, tenant);
}

export async function loadTenantSigner(
  options: TenantKeysOptions & { algorithm?: LocalKeyAlgorithm },
): Promise<Signer> {
  const keysDir = tenantKeysDir(options.keysDir, options.tenant);

  return loadLocalSigner({ keysDir, algorithm: options.algorithm });
}

export async function rotateTenantKey(options: TenantRotateOptions): Promise<RotateKeyResult> {
  const keysDir = tenantKeysDir(options.keysDir, options.tenant);

  return rotateLocalKey({ keysDir, algorithm: options.algorithm });
}

// The tenant's own keys, then the deployment-era keys it does not override.
export async function tenantJwks(options: TenantKeysOptions): Promise<JWKS> {
  const own = await readTenantRegistry(options);
  const ownIds = new Set(own.keys.map((entry) => entry.keyId));
  const legacy = (await readRegistry(options.keysDir)) ?? emptyRegistry();
  const inherited = legacy.keys.filter((entry) => !ownIds.has(entry.keyId)).map(asInherited);

  return { keys: [...inherited, ...own.keys].map(toPublishedJwk) };
}

// A key of the tenant's own is marked in place; a deployment-era key gets an entry in the
// tenant's registry that overrides it for this tenant only.
export async function markTenantKeyCompromised(options: TenantCompromiseOptions): Promise<void> {
  const keysDir = tenantKeysDir(options.keysDir, options.tenant);
  await ensureKeysDir(keysDir);
  const legacy = (await readRegistry(options.keysDir)) ?? emptyRegistry();
  await withRegistryLock(keysDir, async () => {
    const registry = (await readRegistry(keysDir)) ?? emptyRegistry();
    const marked = markOwn(registry, options.keyId) ?? overrideLegacy(registry, legacy, options);
    await writeRegistry(keysDir, marked);
  });
}

async function readTenantRegistry(options: TenantKeysOptions): Promise<KeyRegistry> {
  const keysDir = tenantKeysDir(options.keysDir, options.tenant);

  return (await readRegistry(keysDir)) ?? emptyRegistry();
}

function markOwn(registry: KeyRegistry, keyId: string): KeyRegistry | undefined {
  const entry = registry.keys.find((candidate) => candidate.keyId === keyId);
  if (!entry) return undefined;
  if (entry.status !== 'compromised') {
    entry.status = 'compromised';
    entry.compromisedAt = new Date().toISOString();
  }

  return registry;
}

function overrideLegacy(
  registry: KeyRegistry,
  legacy: KeyRegistry,
  options: TenantCompromiseOptions,
): KeyRegistry {
  const entry = legacy.keys.find((candidate) => candidate.keyId === options.keyId);
  if (!entry) {
    const message = `tenant ${options.tenant} has no signing key ${options.keyId}`;
    throw new StellaError('not_found', message);
  }
  const override: KeyEntry = {
    ...publicPart(entry),
    status: 'compromised',
    compromisedAt: new Date().toISOString(),
  };

  return { ...registry, keys: [override, ...registry.keys] };
}

// Deployment-era keys never sign for a tenant: they are listed retired (or compromised).
function asInherited(entry: KeyEntry): KeyEntry {
  const status = entry.status === 'compromised' ? 'compromised' : 'retired';

  return { ...publicPart(entry), status };
}

function publicPart(entry: KeyEntry): KeyEntry {
  const { keyId, algorithm, status, createdAt, retiredAt, compromisedAt, publicJwk } = entry;
  const kept: KeyEntry = { keyId, algorithm, status, createdAt, publicJwk, origin: 'deployment' };
  if (retiredAt) kept.retiredAt = retiredAt;
  if (compromisedAt) kept.compromisedAt = compromisedAt;

  return kept;
}
