import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { canonicalJson } from '../bundle/canonical-json.js';
import { writeFileAtomic } from '../bundle/files.js';
import { JWKS_PATH, SIGNATURE_PATH } from '../bundle/manifest.js';
import { StellaError } from '../domain/errors.js';
import type { JWKS } from '../signing/signer.js';
import { MIRROR_DB_FILE, openMirrorDb, readHead, type MirrorHead } from './mirror-database.js';

// A mirror pins the key set it trusts in its root. Without the pin, a bundle would be checked
// against the key set it ships itself, so anyone could self-sign a bundle and replace the
// mirror's content.
export const TRUSTED_KEYS_FILE = 'trusted-keys.json';

// 'pinned': checked against the root's pinned set; 'provided': against --jwks, which is
// pinned once the import succeeds; 'first-use': against the bundle's own set, which is pinned
// because the mirror had none (trust on first use).
export type KeyTrust = 'pinned' | 'provided' | 'first-use';

export interface TrustDecision {
  trust: KeyTrust;
  jwks: JWKS; // what the bundle's signature is checked against
  pin?: JWKS; // what to pin once the import succeeded
  pinPath: string;
  warnings: string[];
}

export interface TrustInput {
  root: string;
  bundleDir: string;
  given?: JWKS; // --jwks
}

export async function decideTrust(input: TrustInput): Promise<TrustDecision> {
  const pinPath = path.join(input.root, TRUSTED_KEYS_FILE);
  if (input.given) {
    requireKeySet(input.given, '--jwks');

    return { trust: 'provided', jwks: input.given, pin: input.given, pinPath, warnings: [] };
  }
  const pinned = await readPinnedKeys(input.root);
  if (pinned) {
    return { trust: 'pinned', jwks: pinned, pinPath, warnings: [] };
  }
  refuseUnpinnedMirror(input.root);
  const embedded = await embeddedKeySet(input.bundleDir);

  const warnings = [firstUseWarning(pinPath)];

  return { trust: 'first-use', jwks: embedded, pin: embedded, pinPath, warnings };
}

export async function readPinnedKeys(root: string): Promise<JWKS | undefined> {
  const pinPath = path.join(root, TRUSTED_KEYS_FILE);
  const text = await readFile(pinPath, 'utf8').catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return undefined;
    const message = `cannot read the pinned key set ${pinPath}`;
    throw new StellaError('integrity_failed', message, { cause: err });
  });
  if (text === undefined) {
    return undefined;
  }

  return requireKeySet(parseKeySet(text, pinPath), pinPath);
}

export async function pinKeys(root: string, jwks: JWKS): Promise<void> {
  await writeFileAtomic(path.join(root, TRUSTED_KEYS_FILE), canonicalJson(jwks) + '\n');
}

// The kid in the protected header of signatures/export.sig, when it is plain text; it names
// the key in a refusal, so an operator can tell which publisher key is not trusted.
export async function signingKeyId(bundleDir: string): Promise<string | undefined> {
  const jws = await readFile(path.join(bundleDir, SIGNATURE_PATH), 'utf8').catch(() => '');
  try {
    const header = JSON.parse(Buffer.from(jws.split('.')[0] ?? '', 'base64url').toString('utf8'));
    const kid = (header as { kid?: unknown })?.kid;

    return typeof kid === 'string' && /^[\x21-\x7e]{1,128}$/.test(kid) ? kid : undefined;
  } catch {
    return undefined;
  }
}

export function untrustedKeyMessage(
  kid: string | undefined,
  pinPath: string,
  detail: string,
): string {
  const key = kid ? `key ${kid}` : 'a key that cannot be identified';

  return (
    `bundle refused: it is signed by ${key}, which this mirror's pinned key set (${pinPath}) ` +
    `does not trust (${detail}). To trust a new publisher key, import again with ` +
    '--jwks FILE holding the publisher\'s JWKS, obtained through a trusted channel: it ' +
    'replaces the pinned set once the bundle verifies with it'
  );
}

// A mirror filled before keys were pinned has content but no pin: trusting the next bundle's
// own keys there would be exactly the takeover the pin prevents.
function refuseUnpinnedMirror(root: string): void {
  const head = holdsExport(root);
  if (!head) {
    return;
  }
  throw new StellaError(
    'integrity_failed',
    `the mirror ${root} holds export ${head.runId} but no pinned key set ` +
      `(${TRUSTED_KEYS_FILE}); import with --jwks FILE holding the publisher's JWKS to pin it`,
  );
}

// A refused import (a delta into an empty mirror) may leave an empty mirror.db: that is no data.
function holdsExport(root: string): MirrorHead | undefined {
  if (!existsSync(path.join(root, MIRROR_DB_FILE))) {
    return undefined;
  }
  const db = openMirrorDb(root);
  try {
    return readHead(db);
  } finally {
    db.close();
  }
}

async function embeddedKeySet(bundleDir: string): Promise<JWKS> {
  const jwksPath = path.join(bundleDir, JWKS_PATH);
  const text = await readFile(jwksPath, 'utf8').catch((err: unknown) => {
    const message =
      `the bundle has no ${JWKS_PATH} and the mirror has no pinned keys; pass --jwks FILE`;
    throw new StellaError('integrity_failed', message, { cause: err });
  });

  return requireKeySet(parseKeySet(text, JWKS_PATH), JWKS_PATH);
}

function parseKeySet(text: string, source: string): JWKS {
  try {
    return JSON.parse(text) as JWKS;
  } catch (err) {
    throw new StellaError('integrity_failed', `${source} is not JSON`, { cause: err });
  }
}

function requireKeySet(jwks: JWKS, source: string): JWKS {
  const keys = (jwks as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(keys) || keys.length === 0) {
    throw new StellaError('integrity_failed', `${source} is not a JSON Web Key Set with keys`);
  }

  return jwks;
}

function firstUseWarning(pinPath: string): string {
  return (
    'this mirror had no pinned keys: the key set inside this bundle (signatures/jwks.json) ' +
    `was trusted on first use and pinned in ${pinPath}; later imports must be signed by it. ` +
    'A bundle altered before this import would go unnoticed: to pin the publisher\'s keys ' +
    'explicitly, import with --jwks FILE'
  );
}
