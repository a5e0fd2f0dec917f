// DSSE envelopes (github.com/secure-systems-lab/dsse, protocol.md v1.0): the signature covers
// PAE(payloadType, payload), never the payload alone, so a payload cannot be replayed under
// another type. Used for in-toto statements such as provenance.json.
import { createPublicKey, type KeyObject } from 'node:crypto';

import { p1363ToDer } from './ecdsa-signature.js';
import { assertKeyFitsAlgorithm, pickPublicMembers, verifyWithKey } from './key-material.js';
import {
  isSigningAlgorithm,
  type JWKS,
  type PublishedJwk,
  type Signer,
  type SigningAlgorithm,
} from './signer.js';

export const IN_TOTO_PAYLOAD_TYPE = 'application/vnd.in-toto+json';

export interface DsseSignature {
  keyid: string;
  sig: string; // standard base64
}

export interface DsseEnvelope {
  payloadType: string;
  payload: string; // standard base64
  signatures: DsseSignature[];
}

export interface DsseVerifyOptions {
  payloadType?: string; // default application/vnd.in-toto+json
  threshold?: number; // distinct trusted keys that must have signed; default 1
}

export interface DsseVerifyResult {
  ok: boolean;
  keyIds: string[]; // keys whose signatures verified
  payload?: Uint8Array; // set only when ok
  failures: string[];
}

type RawSigner = Pick<Signer, 'keyId' | 'algorithm' | 'signRaw'>;

const BASE64 = /^(?:[A-Za-z0-9+/]*={0,2}|[A-Za-z0-9_-]*={0,2})$/;

// PAE(type, body) = "DSSEv1" SP LEN(type) SP type SP LEN(body) SP body, where LEN is the
// byte length in ASCII decimal without leading zeros.
export function preAuthEncoding(payloadType: string, payload: Uint8Array): Uint8Array {
  const type = Buffer.from(payloadType, 'utf8');
  const head = `DSSEv1 ${type.length} ${payloadType} ${payload.length} `;

  return Buffer.concat([Buffer.from(head, 'utf8'), payload]);
}

// ECDSA signatures are stored in DER, the form sigstore and in-toto verifiers expect.
export async function signDsse(
  signer: RawSigner,
  payload: Uint8Array,
  payloadType: string = IN_TOTO_PAYLOAD_TYPE,
): Promise<DsseEnvelope> {
  const raw = await signer.signRaw(preAuthEncoding(payloadType, payload));
  const sig = signer.algorithm === 'ES256' ? p1363ToDer(raw) : raw;

  return {
    payloadType,
    payload: Buffer.from(payload).toString('base64'),
    signatures: [{ keyid: signer.keyId, sig: Buffer.from(sig).toString('base64') }],
  };
}

export async function signInTotoStatement(
  signer: RawSigner,
  statement: object,
): Promise<DsseEnvelope> {
  return signDsse(signer, Buffer.from(JSON.stringify(statement), 'utf8'), IN_TOTO_PAYLOAD_TYPE);
}

export async function verifyDsse(
  envelope: DsseEnvelope,
  jwks: JWKS,
  options: DsseVerifyOptions = {},
): Promise<DsseVerifyResult> {
  const expectedType = options.payloadType ?? IN_TOTO_PAYLOAD_TYPE;
  const shapeProblem = envelopeProblem(envelope, expectedType);
  if (shapeProblem) return { ok: false, keyIds: [], failures: [shapeProblem] };

  const payload = Buffer.from(envelope.payload, 'base64');
  const pae = preAuthEncoding(envelope.payloadType, payload);
  const failures: string[] = [];
  const keyIds = new Set<string>();
  for (const signature of envelope.signatures) {
    const problem = signatureProblem(signature, pae, jwks);
    if (problem) failures.push(problem);
    else keyIds.add(signature.keyid);
  }

  const ok = keyIds.size >= (options.threshold ?? 1);
  return { ok, keyIds: [...keyIds], payload: ok ? payload : undefined, failures };
}

function envelopeProblem(envelope: DsseEnvelope, expectedType: string): string | undefined {
  if (typeof envelope?.payload !== 'string' || !BASE64.test(envelope.payload)) {
    return 'the envelope payload is not base64';
  }
  if (envelope.payloadType !== expectedType) {
    return `payloadType is ${JSON.stringify(envelope.payloadType)}, expected ${expectedType}`;
  }
  if (!Array.isArray(envelope.signatures) || envelope.signatures.length === 0) {
    return 'the envelope has no signatures';
  }

  return undefined;
}

function signatureProblem(
  signature: DsseSignature,
  pae: Uint8Array,
  jwks: JWKS,
): string | undefined {
  const keyid = String(signature?.keyid);
  const jwk = (jwks.keys ?? []).find((candidate) => candidate.kid === keyid);
  if (!jwk) return `no trusted key with kid ${keyid}`;
  if (jwk.status === 'compromised') return `key ${keyid} is marked compromised`;
  if (typeof signature.sig !== 'string' || !BASE64.test(signature.sig)) {
    return `the signature by ${keyid} is not base64`;
  }

  const algorithm = algorithmOf(jwk);
  const key = algorithm && publicKeyOf(jwk);
  if (!algorithm || !key) return `key ${keyid} is not a usable EdDSA, ES256 or PS256 key`;

  const verified = verifyRaw(algorithm, key, pae, Buffer.from(signature.sig, 'base64'));
  return verified ? undefined : `the signature by ${keyid} does not verify`;
}

function verifyRaw(
  algorithm: SigningAlgorithm,
  key: KeyObject,
  pae: Uint8Array,
  sig: Uint8Array,
): boolean {
  try {
    assertKeyFitsAlgorithm(algorithm, key);
    return verifyWithKey(algorithm, key, pae, sig, 'der');
  } catch {
    return false;
  }
}

// A JWK without "alg" is matched by its key type, as RFC 7517 §4.4 makes "alg" optional.
function algorithmOf(jwk: PublishedJwk): SigningAlgorithm | undefined {
  if (jwk.alg !== undefined) return isSigningAlgorithm(jwk.alg) ? jwk.alg : undefined;
  if (jwk.kty === 'OKP' && jwk.crv === 'Ed25519') return 'EdDSA';
  if (jwk.kty === 'EC' && jwk.crv === 'P-256') return 'ES256';
  if (jwk.kty === 'RSA') return 'PS256';

  return undefined;
}

function publicKeyOf(jwk: PublishedJwk): KeyObject | undefined {
  try {
    return createPublicKey({ key: pickPublicMembers(jwk) as never, format: 'jwk' });
  } catch {
    return undefined;
  }
}
