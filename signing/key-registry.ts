// keys.json: the on-disk list of published signing keys and their lifecycle. Local keys keep
// their private halves beside it as PKCS#8 PEM files (mode 0600); KMS keys are recorded by
// their KMS key id only. The registry itself holds public data only.
import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';

import { StellaError } from '../domain/errors.js';
import { pickPublicMembers } from './key-material.js';
import { KEY_STATUSES, SIGNING_ALGORITHMS, type PublishedJwk } from './signer.js';

export const REGISTRY_FILE = 'keys.json';
export const REGISTRY_SCHEMA = 'stella.signing-keys/v1';

const LOCK_FILE = 'keys.lock';
const LOCK_RETRY_MS = 25;
const LOCK_TIMEOUT_MS = 10_000;

const keyEntrySchema = z.object({
  keyId: z.string().regex(/^[A-Za-z0-9_-]{43}$/),
  algorithm: z.enum(SIGNING_ALGORITHMS),
  status: z.enum(KEY_STATUSES),
  createdAt: z.string(),
  retiredAt: z.string().optional(),
  compromisedAt: z.string().optional(),
  // At most one of the two: a local key's PEM file name, or the KMS key id or alias it
  // was loaded through (the private half of a KMS key never leaves KMS).
  privateKeyFile: z.string().regex(/^[A-Za-z0-9_-]+\.pem$/).optional(),
  kmsKeyId: z.string().min(1).max(2048).optional(),
  // In a tenant's registry: a public-only copy of a deployment-era key that this tenant
  // marked compromised (tenant-keys.ts). Such an entry has neither a PEM file nor a KMS id.
  origin: z.literal('deployment').optional(),
  publicJwk: z.looseObject({ kty: z.string() }),
});

const registrySchema = z.object({
  schema: z.literal(REGISTRY_SCHEMA),
  keys: z.array(keyEntrySchema),
});

export type KeyEntry = z.infer<typeof keyEntrySchema>;
export type KeyRegistry = z.infer<typeof registrySchema>;

export async function ensureKeysDir(keysDir: string): Promise<void> {
  await mkdir(keysDir, { recursive: true, mode: 0o700 });
}

export async function readRegistry(keysDir: string): Promise<KeyRegistry | undefined> {
  const path = join(keysDir, REGISTRY_FILE);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new StellaError('unavailable', `cannot read the key registry ${path}`, { cause: err });
  }

  return parseRegistry(path, text);
}

function parseRegistry(path: string, text: string): KeyRegistry {
  try {
    return registrySchema.parse(JSON.parse(text));
  } catch (err) {
    throw new StellaError('malformed_document', `the key registry ${path} is not valid`, {
      cause: err,
    });
  }
}

// Written to a temporary name and renamed, so a reader never sees half a registry.
export async function writeRegistry(keysDir: string, registry: KeyRegistry): Promise<void> {
  const path = join(keysDir, REGISTRY_FILE);
  const temporary = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  await writeFile(temporary, `${JSON.stringify(registry, null, 2)}\n`, { mode: 0o644 });
  await rename(temporary, path);
}

export function emptyRegistry(): KeyRegistry {
  return { schema: REGISTRY_SCHEMA, keys: [] };
}

export type LocalKeyEntry = KeyEntry & { privateKeyFile: string };

export function isLocalEntry(entry: KeyEntry): entry is LocalKeyEntry {
  return entry.privateKeyFile !== undefined;
}

// Local and KMS keys each have at most one active key: a deployment signs with one of them,
// and switching STELLA_SIGNER back and forth must not retire the other's key.
export function activeEntry(registry: KeyRegistry): LocalKeyEntry | undefined {
  return registry.keys.filter(isLocalEntry).find((entry) => entry.status === 'active');
}

export function toPublishedJwk(entry: KeyEntry): PublishedJwk {
  const members = pickPublicMembers(entry.publicJwk);

  return { ...members, kid: entry.keyId, alg: entry.algorithm, use: 'sig', status: entry.status };
}

// Serialises registry changes between processes sharing keysDir. The lock is a file created
// exclusively; a process killed while holding it leaves it behind, and the timeout message
// says which file to remove (there is no stale-lock detection).
export async function withRegistryLock<T>(keysDir: string, work: () => Promise<T>): Promise<T> {
  const lockPath = join(keysDir, LOCK_FILE);
  const handle = await acquireLock(lockPath);
  try {
    return await work();
  } finally {
    await handle.close();
    await rm(lockPath, { force: true });
  }
}

async function acquireLock(lockPath: string): ReturnType<typeof open> {
  const deadline = Date.now() + LOCK_TIMEOUT_MS;
  for (;;) {
    try {
      return await open(lockPath, 'wx', 0o600);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw new StellaError('unavailable', `cannot create ${lockPath}`, { cause: err });
      }
      if (Date.now() > deadline) throw lockError(lockPath, err);
      await sleep(LOCK_RETRY_MS);
    }
  }
}

function lockError(lockPath: string, cause: unknown): StellaError {
  const message =
    `cannot lock the key registry: ${lockPath} is held; ` +
    'if no other stella process is running, remove it';

  return new StellaError('unavailable', message, { cause });
}
