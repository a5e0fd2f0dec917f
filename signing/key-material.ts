// Raw signing and verification with node:crypto key objects, one place that maps a JWS
// algorithm name to the primitive and its parameters.
import { constants, sign, verify, type KeyObject } from 'node:crypto';
import { calculateJwkThumbprint, type JWK } from 'jose';

import { StellaError } from '../domain/errors.js';
import type { SigningAlgorithm } from './signer.js';

export type EcdsaEncoding = 'ieee-p1363' | 'der';

// RFC 7518 §3.5: PS256 uses MGF1 with SHA-256 and a salt as long as the hash (32 bytes).
const PSS_OPTIONS = { padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 } as const;
const MIN_RSA_BITS = 2048;

export function signWithKey(
  algorithm: SigningAlgorithm,
  key: KeyObject,
  bytes: Uint8Array,
): Uint8Array {
  switch (algorithm) {
    case 'EdDSA':
      return sign(null, bytes, key);
    case 'ES256':
      return sign('sha256', bytes, { key, dsaEncoding: 'ieee-p1363' });
    case 'PS256':
      return sign('sha256', bytes, { key, ...PSS_OPTIONS });
  }
}

export function verifyWithKey(
  algorithm: SigningAlgorithm,
  key: KeyObject,
  bytes: Uint8Array,
  signature: Uint8Array,
  ecdsaEncoding: EcdsaEncoding = 'ieee-p1363',
): boolean {
  switch (algorithm) {
    case 'EdDSA':
      return verify(null, bytes, key, signature);
    case 'ES256':
      return verify('sha256', bytes, { key, dsaEncoding: ecdsaEncoding }, signature);
    case 'PS256':
      return verify('sha256', bytes, { key, ...PSS_OPTIONS }, signature);
  }
}

// Refuses a key that the algorithm name would silently misuse (an Ed448 key under EdDSA,
// a P-384 key under ES256, a short RSA modulus).
export function assertKeyFitsAlgorithm(algorithm: SigningAlgorithm, key: KeyObject): void {
  const type = key.asymmetricKeyType;
  const details = key.asymmetricKeyDetails ?? {};
  const fits =
    (algorithm === 'EdDSA' && type === 'ed25519') ||
    (algorithm === 'ES256' && type === 'ec' && details.namedCurve === 'prime256v1') ||
    (algorithm === 'PS256' && (type === 'rsa' || type === 'rsa-pss') &&
      (details.modulusLength ?? 0) >= MIN_RSA_BITS);
  if (!fits) {
    throw new StellaError('bad_request', `a ${describeKey(key)} key cannot sign ${algorithm}`);
  }
}

// The public half as a JWK with kid (RFC 7638 thumbprint), alg and use. Only public members
// are copied, so a private KeyObject passed by mistake cannot leak `d`.
export async function publicJwkOf(algorithm: SigningAlgorithm, key: KeyObject): Promise<JWK> {
  const exported = key.export({ format: 'jwk' });
  const members = pickPublicMembers(exported as JWK);
  const kid = await calculateJwkThumbprint(members, 'sha256');

  return { ...members, kid, alg: algorithm, use: 'sig' };
}

export function pickPublicMembers(jwk: JWK): JWK {
  const { kty, crv, x, y, n, e } = jwk;
  const picked: JWK = { kty };
  Object.assign(picked, definedOnly({ crv, x, y, n, e }));

  return picked;
}

function definedOnly(record: Record<string, string | undefined>): Record<string, string> {
  return Object.fromEntries(Object.entries(record).filter(([, v]) => v !== undefined)) as
    Record<string, string>;
}

function describeKey(key: KeyObject): string {
  const details = key.asymmetricKeyDetails ?? {};
  const size = details.namedCurve ?? (details.modulusLength ? `${details.modulusLength}-bit` : '');

  return [key.asymmetricKeyType ?? key.type, size].filter(Boolean).join(' ');
}
