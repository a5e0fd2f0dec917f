// The signing contract shared by the local-key and KMS signers, and the key-set shapes that
// verifiers consume.
import type { JWK } from 'jose';

// The allow-list for both signing and verification: asymmetric only. `none` and the HS*
// family are absent on purpose (a shared secret cannot be published in a JWKS).
export const SIGNING_ALGORITHMS = ['EdDSA', 'ES256', 'PS256'] as const;

export type SigningAlgorithm = (typeof SIGNING_ALGORITHMS)[number];

export const KEY_STATUSES = ['active', 'retired', 'compromised'] as const;

export type KeyStatus = (typeof KEY_STATUSES)[number];

// A public JWK as published: `status` is a private member (RFC 7517 §4 allows extra members).
export type PublishedJwk = JWK & { status?: KeyStatus };

export interface JWKS {
  keys: PublishedJwk[];
}

export interface Signer {
  readonly keyId: string; // RFC 7638 JWK thumbprint (SHA-256) of the public key
  readonly algorithm: SigningAlgorithm;
  // Compact JWS with a detached payload (RFC 7515 Appendix F): "<protected>..<signature>".
  signDetached(payload: Uint8Array): Promise<string>;
  // A signature over `bytes` in the JWS encoding of `algorithm` (RFC 7518 §3.4: ES256 is
  // r||s, 64 bytes; RFC 8037: Ed25519 is 64 bytes; PS256 is modulus-length bytes).
  signRaw(bytes: Uint8Array): Promise<Uint8Array>;
  publicJwk(): Promise<JWK>; // public members plus kid, alg and use: "sig"
}

export function isSigningAlgorithm(value: unknown): value is SigningAlgorithm {
  return typeof value === 'string' && (SIGNING_ALGORITHMS as readonly string[]).includes(value);
}
