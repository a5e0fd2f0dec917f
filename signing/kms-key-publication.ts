// Publishes the public half of the KMS key a worker signs with in keys.json, so that the API's
// JWKS lists it beside local keys and compromise marking applies to it too. Rotation of a
// KMS key happens in KMS (an alias pointed at a new key): the next load notices the new
// key id, records it as active and retires the KMS key that was active before.
import { StellaError } from '../domain/errors.js';
import {
  emptyRegistry,
  ensureKeysDir,
  readRegistry,
  withRegistryLock,
  writeRegistry,
  type KeyEntry,
  type KeyRegistry,
} from './key-registry.js';
import type { Signer } from './signer.js';

export interface PublishKmsKeyOptions {
  keysDir: string;
  kmsKeyId: string; // the key id or alias the signer was loaded through
  signer: Signer;
}

// Throws `conflict` when the key is marked compromised: a compromised key must not sign.
export async function publishKmsKey(options: PublishKmsKeyOptions): Promise<void> {
  const { keysDir, signer } = options;
  await ensureKeysDir(keysDir);
  const current = await readRegistry(keysDir);
  const known = current?.keys.find((entry) => entry.keyId === signer.keyId);
  if (known?.status === 'active') return;

  await withRegistryLock(keysDir, async () => {
    const registry = (await readRegistry(keysDir)) ?? emptyRegistry();
    await writeRegistry(keysDir, await withActiveKmsKey(registry, options));
  });
}

async function withActiveKmsKey(
  registry: KeyRegistry,
  options: PublishKmsKeyOptions,
): Promise<KeyRegistry> {
  const { signer, kmsKeyId } = options;
  const existing = registry.keys.find((entry) => entry.keyId === signer.keyId);
  if (existing?.status === 'compromised') {
    const message =
      `KMS key ${kmsKeyId} (kid ${signer.keyId}) is marked compromised; ` +
      'point the alias at a new key';
    throw new StellaError('conflict', message);
  }

  const now = new Date().toISOString();
  for (const entry of registry.keys) {
    if (entry.kmsKeyId !== undefined && entry.status === 'active') {
      entry.status = 'retired';
      entry.retiredAt = now;
    }
  }
  if (existing) {
    existing.status = 'active';
    existing.kmsKeyId = kmsKeyId;
    delete existing.retiredAt;
    return registry;
  }

  return { ...registry, keys: [...registry.keys, await kmsEntry(options, now)] };
}

async function kmsEntry(options: PublishKmsKeyOptions, createdAt: string): Promise<KeyEntry> {
  const publicJwk = (await options.signer.publicJwk()) as KeyEntry['publicJwk'];

  return {
    keyId: options.signer.keyId,
    algorithm: options.signer.algorithm,
    status: 'active',
    createdAt,
    kmsKeyId: options.kmsKeyId,
    publicJwk,
  };
}
