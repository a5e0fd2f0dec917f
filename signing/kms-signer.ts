// A signer backed by an AWS KMS asymmetric key: the private half never leaves KMS. The JWS
// algorithm follows the key: ECC_NIST_P256 → ES256, RSA (2048 bits or more) → PS256.
import { createHash, createPublicKey, type KeyObject } from 'node:crypto';
import {
  GetPublicKeyCommand,
  KMSClient,
  SignCommand,
  type GetPublicKeyCommandOutput,
  type SigningAlgorithmSpec,
} from '@aws-sdk/client-kms';

import { StellaError, type ErrorClass } from '../domain/errors.js';
import { derToP1363 } from './ecdsa-signature.js';
import { signDetachedJws } from './jws.js';
import { assertKeyFitsAlgorithm, publicJwkOf } from './key-material.js';
import type { Signer, SigningAlgorithm } from './signer.js';

export const KMS_ENDPOINT_ENV = 'STELLA_KMS_ENDPOINT';

export interface KmsSignerOptions {
  keyId: string; // key id, key ARN, "alias/<name>" or alias ARN
  client?: KMSClient; // default: createKmsClient()
}

export interface KmsClientOptions {
  endpoint?: string; // default: $STELLA_KMS_ENDPOINT, else the AWS regional endpoint
  region?: string; // default: the AWS SDK chain (AWS_REGION, profile)
}

// KMS Sign takes at most 4096 message bytes; longer input is hashed here and sent as DIGEST.
const MAX_RAW_MESSAGE = 4096;

const KMS_ALGORITHM: Record<Exclude<SigningAlgorithm, 'EdDSA'>, SigningAlgorithmSpec> = {
  ES256: 'ECDSA_SHA_256',
  // AWS documents RSASSA_PSS_SHA_256 with MGF1-SHA-256 and a 32-byte salt, which is exactly
  // RFC 7518 §3.5 PS256.
  PS256: 'RSASSA_PSS_SHA_256',
};

const ERROR_BY_KMS_EXCEPTION: Record<string, ErrorClass> = {
  NotFoundException: 'not_found',
  AccessDeniedException: 'denied',
  DisabledException: 'conflict',
  KMSInvalidStateException: 'conflict',
  InvalidKeyUsageException: 'bad_request',
};

export function createKmsClient(options: KmsClientOptions = {}): KMSClient {
  const endpoint = options.endpoint ?? process.env[KMS_ENDPOINT_ENV];

  return new KMSClient({ endpoint: endpoint || undefined, region: options.region });
}

export async function loadKmsSigner(options: KmsSignerOptions): Promise<Signer> {
  const client = options.client ?? createKmsClient();
  const response = await callKms(options.keyId, 'GetPublicKey', () =>
    client.send(new GetPublicKeyCommand({ KeyId: options.keyId })),
  );
  const publicKey = publicKeyOf(options.keyId, response);
  const algorithm = algorithmFor(options.keyId, publicKey, response);
  const publicJwk = await publicJwkOf(algorithm, publicKey);
  const keyId = publicJwk.kid as string;
  const signRaw = (bytes: Uint8Array) =>
    signWithKms({ client, kmsKeyId: options.keyId, algorithm, bytes });

  return {
    keyId,
    algorithm,
    signRaw,
    signDetached: (payload) => signDetachedJws({ alg: algorithm, kid: keyId }, payload, signRaw),
    publicJwk: async () => ({ ...publicJwk }),
  };
}

function publicKeyOf(kmsKeyId: string, response: GetPublicKeyCommandOutput): KeyObject {
  if (response.KeyUsage !== undefined && response.KeyUsage !== 'SIGN_VERIFY') {
    const message = `KMS key ${kmsKeyId} has usage ${response.KeyUsage}, not SIGN_VERIFY`;
    throw new StellaError('bad_request', message);
  }
  if (!response.PublicKey) {
    throw new StellaError('unavailable', `KMS returned no public key for ${kmsKeyId}`);
  }

  return createPublicKey({ key: Buffer.from(response.PublicKey), format: 'der', type: 'spki' });
}

// Decided from the key itself: KeySpec is optional in the response (some KMS emulators omit
// it), while the SPKI is always there.
function algorithmFor(
  kmsKeyId: string,
  publicKey: KeyObject,
  response: GetPublicKeyCommandOutput,
): Exclude<SigningAlgorithm, 'EdDSA'> {
  const algorithm = publicKey.asymmetricKeyType === 'ec' ? 'ES256' : 'PS256';
  assertKeyFitsAlgorithm(algorithm, publicKey);
  const offered = response.SigningAlgorithms;
  if (offered && !offered.includes(KMS_ALGORITHM[algorithm])) {
    const message = `KMS key ${kmsKeyId} does not offer ${KMS_ALGORITHM[algorithm]}`;
    throw new StellaError('bad_request', message);
  }

  return algorithm;
}

interface KmsSignInput {
  client: KMSClient;
  kmsKeyId: string;
  algorithm: Exclude<SigningAlgorithm, 'EdDSA'>;
  bytes: Uint8Array;
}

async function signWithKms(input: KmsSignInput): Promise<Uint8Array> {
  const raw = input.bytes.length <= MAX_RAW_MESSAGE;
  const message = raw ? input.bytes : createHash('sha256').update(input.bytes).digest();
  const command = new SignCommand({
    KeyId: input.kmsKeyId,
    Message: message,
    MessageType: raw ? 'RAW' : 'DIGEST',
    SigningAlgorithm: KMS_ALGORITHM[input.algorithm],
  });
  const response = await callKms(input.kmsKeyId, 'Sign', () => input.client.send(command));
  if (!response.Signature) {
    throw new StellaError('unavailable', `KMS returned no signature for ${input.kmsKeyId}`);
  }

  // KMS returns ECDSA signatures in DER; JWS wants r||s.
  return input.algorithm === 'ES256' ? derToP1363(response.Signature) : response.Signature;
}

async function callKms<T>(kmsKeyId: string, operation: string, call: () => Promise<T>) {
  try {
    return await call();
  } catch (err) {
    const name = (err as { name?: string }).name ?? 'Error';
    const code = ERROR_BY_KMS_EXCEPTION[name] ?? 'unavailable';
    const message = `KMS ${operation} failed for key ${kmsKeyId}: ${name}`;
    throw new StellaError(code, message, { cause: err });
  }
}
