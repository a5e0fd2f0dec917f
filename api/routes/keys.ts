import { Router, type Request } from 'express';
import { z } from 'zod';
import { StellaError } from '../../domain/errors.js';
import type { StellaConfig } from '../../platform/config.js';
import { SIGNER_ENV } from '../../signing/signer-config.js';
import {
  markTenantKeyCompromised,
  rotateTenantKey,
  tenantJwks,
} from '../../signing/tenant-keys.js';
import { appendAuditEntry } from '../../store/audit-store.js';
import type { Database } from '../../store/database.js';
import { principalOf } from '../auth/principal.js';
import { tenantOf } from '../tenant.js';

export interface KeyRouteDependencies {
  db: Database;
  config: StellaConfig;
}

const rotateBodySchema = z.strictObject({ algorithm: z.enum(['EdDSA', 'ES256']).optional() });
const KID = /^[A-Za-z0-9_-]{43}$/;
const JWKS_MEDIA_TYPE = 'application/jwk-set+json'; // RFC 7517 §8.5.2

// Each tenant's signing keys (signing/tenant-keys.ts): the published key set with each key's
// status, rotation and compromise marking. The key routes act on the caller's tenant only;
// the public JWKS names its tenant in the query, since it is read without a token.
export function keyRoutes(deps: KeyRouteDependencies): Router {
  const router = Router();
  const keysDir = deps.config.keysDir;

  router.get('/export/jwks', async (req, res) => {
    const tenant = jwksTenant(req);
    res.type(JWKS_MEDIA_TYPE).send(JSON.stringify(await tenantJwks({ keysDir, tenant })));
  });

  router.post('/export/keys/rotate', async (req, res) => {
    const body = rotateBodySchema.parse(req.body ?? {});
    const tenant = tenantOf(req);
    const result = await audited(deps.db, req, 'rotate', 'active key', async () => {
      refuseForKmsSigner();
      const rotated = await rotateTenantKey({ keysDir, tenant, algorithm: body.algorithm });

      return { target: rotated.keyId, details: { ...rotated } };
    });
    const keys = (await tenantJwks({ keysDir, tenant })).keys;
    res.status(201).json({ ...result.details, keys });
  });

  router.post('/export/keys/:kid/compromise', async (req, res) => {
    const keyId = String(req.params.kid);
    const tenant = tenantOf(req);
    const result = await audited(deps.db, req, 'compromise', keyId, async () => {
      if (!KID.test(keyId)) throw new StellaError('bad_request', `${keyId} is not a key id`);
      await markTenantKeyCompromised({ keysDir, tenant, keyId });
      const jwks = await tenantJwks({ keysDir, tenant });
      const active = jwks.keys.find((key) => key.status === 'active');

      return { target: keyId, details: { keyId, activeKeyId: active?.kid ?? null } };
    });
    res.json({ ...result.details, status: 'compromised' });
  });

  return router;
}

// GET /export/jwks?tenant=NAME. Public keys are not secret, but an unknown tenant answers
// exactly like a tenant that has not signed yet: with the deployment-era keys only.
function jwksTenant(req: Request): string {
  const tenant = req.query.tenant;
  if (typeof tenant !== 'string' || tenant === '') {
    const message = 'signing keys are per tenant: ask for GET /export/jwks?tenant=NAME';
    throw new StellaError('bad_request', message);
  }

  return tenant; // tenantJwks refuses a value that is not a tenant name
}

// A KMS signer's key rotates in KMS (the alias moves to a new key); a local key made here
// would never be used.
function refuseForKmsSigner(): void {
  if (process.env[SIGNER_ENV] !== 'kms') return;

  const message =
    'this deployment signs with KMS (STELLA_SIGNER=kms): rotate by pointing ' +
    'STELLA_KMS_KEY_ID at a new key; the workers publish it on their next run';
  throw new StellaError('conflict', message);
}

interface KeyChange {
  target: string;
  details: Record<string, unknown>;
}

// One audit entry per change, succeeded or failed, naming the key ids involved.
async function audited(
  db: Database,
  req: Request,
  operation: 'rotate' | 'compromise',
  fallbackTarget: string,
  change: () => Promise<KeyChange>,
): Promise<KeyChange> {
  const entry = { tenant: tenantOf(req), actor: principalOf(req)?.subject ?? 'unknown' };
  try {
    const result = await change();
    await appendAuditEntry(db, {
      ...entry,
      action: 'key.change',
      target: result.target,
      outcome: 'succeeded',
      details: { operation, ...result.details },
    });

    return result;
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    await appendAuditEntry(db, {
      ...entry,
      action: 'key.change',
      target: fallbackTarget,
      outcome: 'failed',
      details: { operation, reason },
    });
    throw err;
  }
}
