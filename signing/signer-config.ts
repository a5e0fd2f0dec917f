// Which signer a process uses, from its environment:
//   STELLA_SIGNER=local (default)  a key file under the keys folder (local-key-signer.ts);
//                                  the first key is EdDSA, `stella export keys rotate
//                                  --algorithm ES256` changes that
//   STELLA_SIGNER=kms              an AWS KMS key named by STELLA_KMS_KEY_ID (key id, ARN or
//                                  alias/<name>); STELLA_KMS_ENDPOINT and the AWS_* variables
//                                  of the AWS SDK locate KMS and its credentials.
// Only key references are read here; no private key is ever taken from the environment.
import { StellaError } from '../domain/errors.js';
import { createKmsClient, loadKmsSigner } from './kms-signer.js';
import { publishKmsKey } from './kms-key-publication.js';
import { loadLocalSigner } from './local-key-signer.js';
import type { Signer } from './signer.js';

export const SIGNER_ENV = 'STELLA_SIGNER';
export const KMS_KEY_ID_ENV = 'STELLA_KMS_KEY_ID';

export type SignerConfig =
  | { kind: 'local'; keysDir: string }
  | { kind: 'kms'; keysDir: string; kmsKeyId: string; endpoint?: string };

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

  return { kind, keysDir, kmsKeyId, endpoint: env.STELLA_KMS_ENDPOINT || undefined };
}

// Loaded afresh for every bundle: a rotation or compromise marking (keys.json) or a KMS
// alias moved to a new key takes effect on the next run without restarting workers.
export async function loadConfiguredSigner(config: SignerConfig): Promise<Signer> {
  if (config.kind === 'local') {
    return loadLocalSigner({ keysDir: config.keysDir });
  }

  const client = createKmsClient({ endpoint: config.endpoint });
  const signer = await loadKmsSigner({ keyId: config.kmsKeyId, client });
  await publishKmsKey({ keysDir: config.keysDir, kmsKeyId: config.kmsKeyId, signer });

  return signer;
}
