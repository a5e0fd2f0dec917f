// Which signer a process uses, from its environment:
//   STELLA_SIGNER=local (default)  a key file per tenant under the keys folder
//                                  (tenant-keys.ts); a tenant's first key is EdDSA,
//                                  `stella export keys rotate --algorithm ES256` changes that
//   STELLA_SIGNER=kms              an AWS KMS key: STELLA_KMS_TENANT_KEYS, a JSON object from
//                                  tenant to key id or alias, names a tenant's own key;
//                                  STELLA_KMS_KEY_ID (key id, ARN or alias/<name>) is the key
//                                  of every other tenant. STELLA_KMS_ENDPOINT and the AWS_*
//                                  variables of the AWS SDK locate KMS and its credentials.
// Only key references are read here; no private key is ever taken from the environment.
import { z } from 'zod';

import { StellaError } from '../domain/errors.js';
import { isValidTenant } from '../platform/ids.js';
import { createKmsClient, loadKmsSigner } from './kms-signer.js';
import { publishKmsKey } from './kms-key-publication.js';
import { loadLocalSigner } from './local-key-signer.js';
import type { Signer } from './signer.js';
import { tenantKeysDir } from './tenant-keys.js';

export const SIGNER_ENV = 'STELLA_SIGNER';
export const KMS_KEY_ID_ENV = 'STELLA_KMS_KEY_ID';
export const KMS_TENANT_KEYS_ENV = 'STELLA_KMS_TENANT_KEYS';

export type SignerConfig =
  | { kind: 'local'; keysDir: string }
  | {
      kind: 'kms';
      keysDir: string;
      kmsKeyId: string; // the default: tenants without a key of their own sign with it
      tenantKmsKeyIds?: Record<string, string>;
      endpoint?: string;
    };

const tenantKeysSchema = z.record(
  z.string().refine(isValidTenant, 'not a tenant name'),
  z.string().min(1).max(2048),
);

export function signerConfigFromEnv(env: NodeJS.ProcessEnv, keysDir: string): SignerConfig {
  const kind = env[SIGNER_ENV] || 'local';
  if (kind === 'local') return { kind, keysDir };
  if (kind !== 'kms') {
    const message = `${SIGNER_ENV} is ${JSON.stringify(kind)}: use local or kms`;
    throw new StellaError('bad_request', message);
  }

  const kmsKeyId = env[KMS_KEY_ID_ENV];
  if (!kmsKeyId) {
    throw new StellaError('bad_request', `${SIGNER_ENV}=kms needs ${KMS_KEY_ID_ENV} (id or alias)`);
  }
  const tenantKmsKeyIds = parseTenantKeys(env[KMS_TENANT_KEYS_ENV]);
  const endpoint = env.STELLA_KMS_ENDPOINT || undefined;

  return { kind, keysDir, kmsKeyId, endpoint, ...(tenantKmsKeyIds && { tenantKmsKeyIds }) };
}

function parseTenantKeys(text: string | undefined): Record<string, string> | undefined {
  if (!text) return undefined;

  try {
    return tenantKeysSchema.parse(JSON.parse(text));
  } catch (err) {
    const message =
      `${KMS_TENANT_KEYS_ENV} must be a JSON object from tenant to KMS key id or alias`;
    throw new StellaError('bad_request', message, { cause: err });
  }
}

// Loaded afresh for every bundle: a rotation or compromise marking (keys.json) or a KMS
// alias moved to a new key takes effect on the next run without restarting workers.
// Without a tenant the deployment-era registry at keysDir is used: that is the path of
// callers that do not yet pass the run's tenant, and its keys are not the tenant's own.
export async function loadConfiguredSigner(
  config: SignerConfig,
  tenant?: string,
): Promise<Signer> {
  const keysDir = tenant === undefined ? config.keysDir : tenantKeysDir(config.keysDir, tenant);
  if (config.kind === 'local') {
    return loadLocalSigner({ keysDir });
  }

  const kmsKeyId = kmsKeyIdFor(config, tenant);
  const client = createKmsClient({ endpoint: config.endpoint });
  const signer = await loadKmsSigner({ keyId: kmsKeyId, client });
  await publishKmsKey({ keysDir, kmsKeyId, signer });

  return signer;
}

export function kmsKeyIdFor(config: SignerConfig & { kind: 'kms' }, tenant?: string): string {
  const own = tenant === undefined ? undefined : config.tenantKmsKeyIds?.[tenant];

  return own ?? config.kmsKeyId;
}
