// The signing package's public surface: signers, key lifecycle, bundle and DSSE verification.
export {
  SIGNING_ALGORITHMS,
  KEY_STATUSES,
  isSigningAlgorithm,
  type JWKS,
  type KeyStatus,
  type PublishedJwk,
  type Signer,
  type SigningAlgorithm,
} from './signer.js';
export {
  loadLocalSigner,
  markKeyCompromised,
  publishedJwks,
  rotateLocalKey,
  type LocalKeyAlgorithm,
  type MarkCompromisedOptions,
  type LocalSignerOptions,
  type RotateKeyResult,
} from './local-key-signer.js';
export {
  KMS_ENDPOINT_ENV,
  createKmsClient,
  loadKmsSigner,
  type KmsClientOptions,
  type KmsSignerOptions,
} from './kms-signer.js';
export {
  TENANTS_DIR,
  loadTenantSigner,
  markTenantKeyCompromised,
  rotateTenantKey,
  tenantJwks,
  tenantKeysDir,
  type TenantCompromiseOptions,
  type TenantKeysOptions,
  type TenantRotateOptions,
} from './tenant-keys.js';
export {
  KMS_KEY_ID_ENV,
  KMS_TENANT_KEYS_ENV,
  SIGNER_ENV,
  kmsKeyIdFor,
  loadConfiguredSigner,
  signerConfigFromEnv,
  type SignerConfig,
} from './signer-config.js';
export {
  verifyBundle,
  type VerifyBundleOptions,
  type VerifyCheck,
  type VerifyFailure,
  type VerifyResult,
} from './verify-bundle.js';
export {
  checkBaseLink,
  isBaseLinkWarning,
  readBaseManifest,
  type BaseLink,
  type BaseLinkStatus,
  type BaseManifestInput,
} from './base-link.js';
export { signDetachedJws, verifyDetachedJws, type JwsVerification } from './jws.js';
export {
  IN_TOTO_PAYLOAD_TYPE,
  preAuthEncoding,
  signDsse,
  signInTotoStatement,
  verifyDsse,
  type DsseEnvelope,
  type DsseSignature,
  type DsseVerifyOptions,
  type DsseVerifyResult,
} from './dsse.js';
