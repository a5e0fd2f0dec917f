// A signer whose private key is a PEM file on local disk, with rotation and compromise
// marking recorded in keys.json. Suited to single-host deployments and tests; production
// deployments with an HSM or cloud KMS use kms-signer.ts instead.
import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
} from 'node:crypto';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { JWK } from 'jose';

import { StellaError } from '../domain/errors.js';
import {
  activeEntry,
  emptyRegistry,
  ensureKeysDir,
  readRegistry,
  toPublishedJwk,
  withRegistryLock,
  writeRegistry,
  isLocalEntry,
  type KeyRegistry,
  type LocalKeyEntry,
} from './key-registry.js';
import { signDetachedJws } from './jws.js';
import { assertKeyFitsAlgorithm, publicJwkOf, signWithKey } from './key-material.js';
import type { JWKS, Signer, SigningAlgorithm } from './signer.js';

export type LocalKeyAlgorithm = Extract<SigningAlgorithm, 'EdDSA' | 'ES256'>;

export interface LocalSignerOptions {
  keysDir: string;
  algorithm?: LocalKeyAlgorithm; // used when a key is created; default EdDSA
}

export interface RotateKeyResult {
  keyId: string;
  retired: string[];
}

export interface MarkCompromisedOptions {
  keysDir: string;
  keyId: string;
}

interface KeyPair {
  privateKey: KeyObject;
  publicKey: KeyObject;
}

const DEFAULT_ALGORITHM: LocalKeyAlgorithm = 'EdDSA';

export async function loadLocalSigner(options: LocalSignerOptions): Promise<Signer> {
  await ensureKeysDir(options.keysDir);
  const existing = await readRegistry(options.keysDir);
  const hasLocalKey = existing?.keys.some(isLocalEntry) ?? false;
  const registry = hasLocalKey && existing ? existing : await createFirstKey(options);
  const active = requireActive(options.keysDir, registry);
  if (options.algorithm && active.algorithm !== options.algorithm) {
    const message =
      `the active key ${active.keyId} is ${active.algorithm}, not ${options.algorithm}; ` +
      'rotate the key to change algorithm';
    throw new StellaError('conflict', message);
  }

  return signerFromEntry(options.keysDir, active);
}

export async function rotateLocalKey(options: LocalSignerOptions): Promise<RotateKeyResult> {
  await ensureKeysDir(options.keysDir);

  return withRegistryLock(options.keysDir, async () => {
    const registry = (await readRegistry(options.keysDir)) ?? emptyRegistry();
    const previous = activeEntry(registry);
    const algorithm = options.algorithm ?? previous?.algorithm ?? DEFAULT_ALGORITHM;
    const created = await createKey(options.keysDir, algorithm as LocalKeyAlgorithm);
    const retired = retireActive(registry);
    await writeRegistry(options.keysDir, { ...registry, keys: [...registry.keys, created] });

    return { keyId: created.keyId, retired };
  });
}

// The private key file is kept for investigation; the signer refuses to load it from now on.
// Marking the active key leaves no active key: signing fails until the key is rotated.
export async function markKeyCompromised(options: MarkCompromisedOptions): Promise<void> {
  await withRegistryLock(options.keysDir, async () => {
    const registry = await readRegistry(options.keysDir);
    const entry = registry?.keys.find((candidate) => candidate.keyId === options.keyId);
    if (!registry || !entry) {
      throw new StellaError('not_found', `no signing key ${options.keyId} in ${options.keysDir}`);
    }
    if (entry.status === 'compromised') return;

    entry.status = 'compromised';
    entry.compromisedAt = new Date().toISOString();
    await writeRegistry(options.keysDir, registry);
  });
}

export async function publishedJwks(options: { keysDir: string }): Promise<JWKS> {
  const registry = (await readRegistry(options.keysDir)) ?? emptyRegistry();

  return { keys: registry.keys.map(toPublishedJwk) };
}

async function createFirstKey(options: LocalSignerOptions): Promise<KeyRegistry> {
  return withRegistryLock(options.keysDir, async () => {
    // Another process may have created the key while this one waited for the lock.
    const existing = (await readRegistry(options.keysDir)) ?? emptyRegistry();
    if (existing.keys.some(isLocalEntry)) return existing;

    const created = await createKey(options.keysDir, options.algorithm ?? DEFAULT_ALGORITHM);
    const registry = { ...existing, keys: [...existing.keys, created] };
    await writeRegistry(options.keysDir, registry);

    return registry;
  });
}

async function createKey(
  keysDir: string,
  algorithm: LocalKeyAlgorithm,
): Promise<LocalKeyEntry> {
  const { privateKey, publicKey } = generateKeys(algorithm);
  const publicJwk = await publicJwkOf(algorithm, publicKey);
  const keyId = publicJwk.kid as string;
  const privateKeyFile = `${keyId}.pem`;
  const pem = privateKey.export({ format: 'pem', type: 'pkcs8' });
  // 'wx' refuses to overwrite; mode 0600 is applied at creation, before any byte is written.
  await writeFile(join(keysDir, privateKeyFile), pem, { mode: 0o600, flag: 'wx' });

  const createdAt = new Date().toISOString();
  const stored = publicJwk as LocalKeyEntry['publicJwk'];

  return { keyId, algorithm, status: 'active', createdAt, privateKeyFile, publicJwk: stored };
}

function generateKeys(algorithm: LocalKeyAlgorithm): KeyPair {
  return algorithm === 'EdDSA'
    ? generateKeyPairSync('ed25519')
    : generateKeyPairSync('ec', { namedCurve: 'P-256' });
}

function retireActive(registry: KeyRegistry): string[] {
  const retiredAt = new Date().toISOString();
  const active = registry.keys.filter((entry) => isLocalEntry(entry) && entry.status === 'active');
  for (const entry of active) {
    entry.status = 'retired';
    entry.retiredAt = retiredAt;
  }

  return active.map((entry) => entry.keyId);
}

function requireActive(keysDir: string, registry: KeyRegistry): LocalKeyEntry {
  const active = activeEntry(registry);
  if (!active) {
    const message = `no active signing key in ${keysDir} (all are retired or compromised); rotate`;
    throw new StellaError('conflict', message);
  }

  return active;
}

async function signerFromEntry(keysDir: string, entry: LocalKeyEntry): Promise<Signer> {
  const privateKey = await readPrivateKey(join(keysDir, entry.privateKeyFile));
  assertKeyFitsAlgorithm(entry.algorithm, privateKey);
  const publicJwk = await publicJwkOf(entry.algorithm, createPublicKey(privateKey));
  if (publicJwk.kid !== entry.keyId) {
    const message = `the key file ${entry.privateKeyFile} does not hold key ${entry.keyId}`;
    throw new StellaError('integrity_failed', message);
  }

  return localSigner(entry.algorithm, privateKey, publicJwk);
}

// The private KeyObject stays in this closure: it is not a property of the signer, so neither
// JSON.stringify nor util.inspect of a signer can reveal it.
function localSigner(
  algorithm: SigningAlgorithm,
  privateKey: KeyObject,
  publicJwk: JWK,
): Signer {
  const keyId = publicJwk.kid as string;
  const signRaw = async (bytes: Uint8Array) => signWithKey(algorithm, privateKey, bytes);

  return {
    keyId,
    algorithm,
    signRaw,
    signDetached: (payload) => signDetachedJws({ alg: algorithm, kid: keyId }, payload, signRaw),
    publicJwk: async () => ({ ...publicJwk }),
  };
}

async function readPrivateKey(path: string): Promise<KeyObject> {
  await assertOwnerOnly(path);
  let pem: string;
  try {
    pem = await readFile(path, 'utf8');
  } catch (err) {
    const message = `cannot read the private key file ${path}`;
    throw new StellaError('unavailable', message, { cause: err });
  }

  try {
    return createPrivateKey({ key: pem, format: 'pem' });
  } catch (err) {
    // The cause is OpenSSL's decoder message, which names no key bytes.
    const message = `${path} is not a PKCS#8 private key`;
    throw new StellaError('malformed_document', message, { cause: err });
  }
}

// Like ssh, refuse a key file that group or others can read: it may already have leaked.
async function assertOwnerOnly(path: string): Promise<void> {
  if (process.platform === 'win32') return;

  const missing = (err: unknown) => {
    throw new StellaError('not_found', `the private key file ${path} is missing`, { cause: err });
  };
  const { mode } = await stat(path).catch(missing);
  if ((mode & 0o077) !== 0) {
    const octal = (mode & 0o777).toString(8);
    throw new StellaError('denied', `${path} has mode ${octal}; it must be 600 (owner only)`);
  }
}
