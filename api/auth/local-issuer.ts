import { createHash, generateKeyPairSync, type JsonWebKey } from 'node:crypto';
import { linkSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { importJWK, SignJWT, type JSONWebKeySet } from 'jose';
import { StellaError } from '../../domain/errors.js';
import { isValidTenant } from '../../platform/ids.js';
import { LOCAL_AUDIENCE, LOCAL_ISSUER } from './auth-config.js';
import type { Role } from './roles.js';

// The embedded issuer: one ES256 key pair in <data>/auth/, created on first use. Whoever can
// read that folder can mint any token, which is no more than they already have: the same
// folder holds the SQLite store and the bundle signing keys.

export const LOCAL_ISSUER_KEY_FILE = 'issuer-private.jwk.json';
export const LOCAL_TOKEN_ALGORITHM = 'ES256';

export interface LocalIssuerKey {
  kid: string;
  privateJwk: JsonWebKey;
}

export interface TokenClaimsInput {
  tenant: string;
  roles: Role[];
  subject: string;
  ttlSeconds: number;
}

// Synchronous on purpose: the API creates the key while it is being assembled, so the key
// exists before the first request or the first CLI that looks for it.
export function ensureLocalIssuerKey(keyDir: string): LocalIssuerKey {
  const existing = readLocalIssuerKey(keyDir);
  if (existing) {
    return existing;
  }

  mkdirSync(keyDir, { recursive: true, mode: 0o700 });
  publishOnce(path.join(keyDir, LOCAL_ISSUER_KEY_FILE), JSON.stringify(newPrivateJwk()));

  return readLocalIssuerKey(keyDir)!;
}

export function readLocalIssuerKey(keyDir: string): LocalIssuerKey | undefined {
  let text: string;
  try {
    text = readFileSync(path.join(keyDir, LOCAL_ISSUER_KEY_FILE), 'utf8');
  } catch {
    return undefined;
  }
  const privateJwk = JSON.parse(text) as JsonWebKey & { kid: string };

  return { kid: privateJwk.kid, privateJwk };
}

export function localPublicJwks(key: LocalIssuerKey): JSONWebKeySet {
  const { kty, crv, x, y } = key.privateJwk;

  return { keys: [{ kty, crv, x, y, kid: key.kid, alg: LOCAL_TOKEN_ALGORITHM, use: 'sig' }] };
}

export async function mintLocalToken(
  key: LocalIssuerKey,
  input: TokenClaimsInput,
): Promise<string> {
  if (!isValidTenant(input.tenant)) {
    throw new StellaError('bad_request', `invalid tenant ${JSON.stringify(input.tenant)}`);
  }
  const signingKey = await importJWK(
    { ...key.privateJwk, alg: LOCAL_TOKEN_ALGORITHM },
    LOCAL_TOKEN_ALGORITHM,
  );

  return new SignJWT({ tenant: input.tenant, roles: input.roles })
    .setProtectedHeader({ alg: LOCAL_TOKEN_ALGORITHM, kid: key.kid, typ: 'JWT' })
    .setIssuer(LOCAL_ISSUER)
    .setAudience(LOCAL_AUDIENCE)
    .setSubject(input.subject)
    .setIssuedAt()
    .setExpirationTime(Math.floor(Date.now() / 1000) + input.ttlSeconds)
    .sign(signingKey);
}

function newPrivateJwk(): JsonWebKey & { kid: string } {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const jwk = privateKey.export({ format: 'jwk' });

  return { ...jwk, kid: thumbprint(jwk), alg: LOCAL_TOKEN_ALGORITHM };
}

// RFC 7638 §3.2: the required EC members in lexicographic order, hashed with SHA-256.
function thumbprint(jwk: JsonWebKey): string {
  const members = JSON.stringify({ crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y });

  return createHash('sha256').update(members).digest('base64url');
}

// Two processes may create the key at once (the API and `stella auth token`): each writes
// its own temp file and links it into place; link fails if the name exists, so the first
// complete file wins and no reader ever sees a half-written key.
function publishOnce(target: string, content: string): void {
  const temp = `${target}.${process.pid}.${Date.now()}.tmp`;
  writeFileSync(temp, content, { mode: 0o600 });
  try {
    linkSync(temp, target);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') {
      throw err;
    }
  } finally {
    unlinkSync(temp);
  }
}
