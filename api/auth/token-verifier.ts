import { readFileSync } from 'node:fs';
import {
  createLocalJWKSet,
  createRemoteJWKSet,
  jwtVerify,
  type JSONWebKeySet,
  type JWTPayload,
  type JWTVerifyGetKey,
} from 'jose';
import { StellaError } from '../../domain/errors.js';
import { isValidTenant } from '../../platform/ids.js';
import type { AuthConfig } from './auth-config.js';
import { ensureLocalIssuerKey, localPublicJwks } from './local-issuer.js';
import { isRole, type Role } from './roles.js';

// Asymmetric algorithms only: with no HS* in the list, a token signed with HMAC over a
// published public key (the HS/RS confusion) is refused before any key is used, and so
// is `alg: none`.
export const ACCEPTED_TOKEN_ALGORITHMS = ['ES256', 'ES384', 'EdDSA', 'PS256', 'RS256'];

export interface Principal {
  subject: string;
  tenant: string;
  roles: Role[];
  issuer: string;
}

// Why a token was refused, as `details.reason` of the 401 answer.
export type TokenRejection =
  | 'missing_token'
  | 'malformed_token'
  | 'alg_not_allowed'
  | 'unknown_kid'
  | 'bad_signature'
  | 'expired'
  | 'not_yet_valid'
  | 'wrong_issuer'
  | 'wrong_audience'
  | 'missing_claim'
  | 'invalid_tenant_claim';

export interface TokenVerifier {
  verify(token: string): Promise<Principal>;
}

export function createTokenVerifier(config: AuthConfig): TokenVerifier {
  const keys = keyResolver(config);

  return {
    verify: async (token) => {
      const payload = await verifiedPayload(token, keys, config);

      return principalOf(payload, config);
    },
  };
}

export function rejection(reason: TokenRejection, message: string, cause?: unknown): StellaError {
  return new StellaError('unauthenticated', message, { cause, details: { reason } });
}

function keyResolver(config: AuthConfig): JWTVerifyGetKey {
  if (config.mode === 'local') {
    return createLocalJWKSet(localPublicJwks(ensureLocalIssuerKey(config.keyDir)));
  }
  if (config.jwksUrl) {
    return createRemoteJWKSet(new URL(config.jwksUrl));
  }

  // Read once at start-up: rotating keys in the file needs an API restart.
  return createLocalJWKSet(JSON.parse(readFileSync(config.jwksFile!, 'utf8')) as JSONWebKeySet);
}

async function verifiedPayload(token: string, keys: JWTVerifyGetKey, config: AuthConfig) {
  try {
    const { payload } = await jwtVerify(token, keys, {
      issuer: config.issuer,
      audience: config.audience,
      algorithms: ACCEPTED_TOKEN_ALGORITHMS,
      requiredClaims: ['exp', 'sub'],
    });

    return payload;
  } catch (err) {
    throw fromJoseError(err);
  }
}

function fromJoseError(err: unknown): StellaError {
  const { code, claim, reason } = err as { code?: string; claim?: string; reason?: string };
  switch (code) {
    case 'ERR_JWT_EXPIRED':
      return rejection('expired', 'the token has expired', err);
    case 'ERR_JOSE_ALG_NOT_ALLOWED':
    case 'ERR_JOSE_NOT_SUPPORTED':
      return rejection('alg_not_allowed', 'the token algorithm is not accepted', err);
    case 'ERR_JWKS_NO_MATCHING_KEY':
    case 'ERR_JWKS_MULTIPLE_MATCHING_KEYS':
      return rejection('unknown_kid', 'no single trusted key matches the token key id', err);
    case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED':
      return rejection('bad_signature', 'the token signature does not verify', err);
    case 'ERR_JWT_CLAIM_VALIDATION_FAILED':
      return claimRejection(claim, reason, err);
    case 'ERR_JWS_INVALID':
    case 'ERR_JWT_INVALID':
      return rejection('malformed_token', 'the token is not a valid signed JWT', err);
    default:
      // The issuer's JWKS could not be fetched or read: not the caller's fault.
      return new StellaError('unavailable', 'the token issuer keys could not be loaded', {
        cause: err,
      });
  }
}

function claimRejection(claim: string | undefined, reason: string | undefined, err: unknown) {
  if (claim === 'iss')
    return rejection('wrong_issuer', 'the token was issued by an untrusted issuer', err);
  if (claim === 'aud')
    return rejection('wrong_audience', 'the token is meant for another audience', err);
  if (claim === 'nbf') return rejection('not_yet_valid', 'the token is not valid yet', err);
  if (reason === 'missing')
    return rejection('missing_claim', `the token has no ${claim} claim`, err);

  return rejection('malformed_token', `the token ${claim} claim is invalid`, err);
}

function principalOf(payload: JWTPayload, config: AuthConfig): Principal {
  const tenant = payload[config.tenantClaim];
  if (typeof tenant !== 'string' || !isValidTenant(tenant)) {
    throw rejection(
      'invalid_tenant_claim',
      `the token ${config.tenantClaim} claim is not a valid tenant`,
    );
  }
  const rawRoles = payload[config.rolesClaim];
  // Unknown role names are ignored, not fatal: an issuer may carry roles of other products.
  const roles = Array.isArray(rawRoles) ? rawRoles.filter(isRole) : [];

  return { subject: payload.sub!, tenant, roles, issuer: payload.iss! };
}
