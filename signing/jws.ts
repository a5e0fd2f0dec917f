// Detached compact JWS (RFC 7515 Appendix F): built from any raw signer, verified against a
// JWKS with jose so that signing and verification do not share an implementation.
import { base64url, compactVerify, importJWK } from 'jose';

import { pickPublicMembers } from './key-material.js';
import {
  isSigningAlgorithm,
  SIGNING_ALGORITHMS,
  type JWKS,
  type KeyStatus,
  type PublishedJwk,
  type SigningAlgorithm,
} from './signer.js';

export interface DetachedJwsHeader {
  alg: SigningAlgorithm;
  kid: string;
}

export type JwsVerification =
  | { ok: true; keyId: string; keyStatus?: KeyStatus }
  | { ok: false; check: 'signature' | 'key'; keyId?: string; message: string };

type RawSign = (bytes: Uint8Array) => Promise<Uint8Array>;

const BASE64URL = /^[A-Za-z0-9_-]+$/;
const PRINTABLE_KID = /^[\x21-\x7e]{1,128}$/;
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k', 'priv'] as const;

export async function signDetachedJws(
  header: DetachedJwsHeader,
  payload: Uint8Array,
  signRaw: RawSign,
): Promise<string> {
  const protectedHeader = base64url.encode(JSON.stringify({ alg: header.alg, kid: header.kid }));
  const signingInput = `${protectedHeader}.${base64url.encode(payload)}`;
  const signature = await signRaw(new TextEncoder().encode(signingInput));

  return `${protectedHeader}..${base64url.encode(signature)}`;
}

export async function verifyDetachedJws(
  jws: string,
  payload: Uint8Array,
  jwks: JWKS,
): Promise<JwsVerification> {
  const parsed = parseDetached(jws);
  if ('message' in parsed) {
    return { ok: false, check: 'signature', message: parsed.message };
  }

  const selected = selectKey(jwks, parsed.header);
  if ('message' in selected) {
    return { ok: false, check: 'key', keyId: parsed.header.kid, message: selected.message };
  }

  return verifyWithJwk(parsed, payload, selected.jwk);
}

interface ParsedJws {
  header: DetachedJwsHeader;
  protectedHeader: string;
  signature: string;
}

function parseDetached(jws: string): ParsedJws | { message: string } {
  // One trailing line break is tolerated (files end with one); any other byte is significant.
  const parts = jws.replace(/\r?\n$/, '').split('.');
  if (parts.length !== 3 || parts[1] !== '') {
    return { message: 'not a compact JWS with a detached payload ("<header>..<signature>")' };
  }
  // Node's base64url decoder skips characters outside the alphabet; RFC 7515 §2 does not.
  if (!BASE64URL.test(parts[0]) || !BASE64URL.test(parts[2])) {
    return { message: 'the JWS header or signature is not unpadded base64url' };
  }

  const header = decodeHeader(parts[0]);
  if (header === undefined) {
    return { message: 'the JWS protected header is not base64url-encoded JSON' };
  }

  const problem = headerProblem(header);
  if (problem) return { message: problem };

  const checked = { alg: header.alg as SigningAlgorithm, kid: header.kid as string };

  return { header: checked, protectedHeader: parts[0], signature: parts[2] };
}

function decodeHeader(encoded: string): Record<string, unknown> | undefined {
  try {
    const header: unknown = JSON.parse(new TextDecoder().decode(base64url.decode(encoded)));
    const isObject = typeof header === 'object' && header !== null && !Array.isArray(header);

    return isObject ? (header as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

// `crit`/`b64` would change what the signature covers (RFC 7797), so neither is accepted.
function headerProblem(header: Record<string, unknown>): string | undefined {
  if (!isSigningAlgorithm(header.alg)) {
    const allowed = SIGNING_ALGORITHMS.join(', ');
    return `JWS algorithm ${JSON.stringify(header.alg)} is not allowed (allowed: ${allowed})`;
  }
  if ('crit' in header || 'b64' in header) {
    return 'JWS header parameters "crit" and "b64" are not accepted';
  }
  if (typeof header.kid !== 'string' || header.kid === '') {
    return 'the JWS header has no "kid"; the signing key cannot be selected';
  }
  // The kid is echoed in messages that reach terminals and logs, so it must be plain text.
  if (!PRINTABLE_KID.test(header.kid)) {
    return 'the JWS "kid" is not 1-128 printable ASCII characters';
  }

  return undefined;
}

function selectKey(
  jwks: JWKS,
  header: DetachedJwsHeader,
): { jwk: PublishedJwk } | { message: string } {
  const keys = Array.isArray(jwks?.keys) ? jwks.keys : [];
  const matches = keys.filter((candidate) => candidate?.kid === header.kid);
  const jwk = matches[0];
  const problem =
    matches.length === 0 ? `no key with kid ${header.kid} in the trusted key set`
    : matches.length > 1 ? `the trusted key set holds several keys with kid ${header.kid}`
    : keyProblem(jwk, header);

  return problem ? { message: problem } : { jwk };
}

function keyProblem(jwk: PublishedJwk, header: DetachedJwsHeader): string | undefined {
  if (jwk.status === 'compromised') {
    return `key ${header.kid} is marked compromised; signatures made with it are not trusted`;
  }
  if (PRIVATE_MEMBERS.some((member) => member in jwk)) {
    return `key ${header.kid} in the key set carries private key material; it is exposed`;
  }
  if (jwk.alg !== undefined && jwk.alg !== header.alg) {
    return `key ${header.kid} is for ${jwk.alg}, but the JWS says ${header.alg}`;
  }
  if (jwk.use !== undefined && jwk.use !== 'sig') {
    return `key ${header.kid} has use "${jwk.use}", not "sig"`;
  }

  return undefined;
}

async function verifyWithJwk(
  parsed: ParsedJws,
  payload: Uint8Array,
  jwk: PublishedJwk,
): Promise<JwsVerification> {
  const { alg, kid } = parsed.header;
  let key: Awaited<ReturnType<typeof importJWK>>;
  try {
    key = await importJWK(pickPublicMembers(jwk), alg);
  } catch {
    const message = `key ${kid} cannot be used for ${alg}`;
    return { ok: false, check: 'key', keyId: kid, message };
  }

  const compact = `${parsed.protectedHeader}.${base64url.encode(payload)}.${parsed.signature}`;
  try {
    await compactVerify(compact, key, { algorithms: [alg] });
  } catch {
    const message = `the signature does not verify with key ${kid} (${alg})`;
    return { ok: false, check: 'signature', keyId: kid, message };
  }

  return { ok: true, keyId: kid, keyStatus: jwk.status };
}
