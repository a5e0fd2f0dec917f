import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parse } from 'yaml';
import {
  MIRROR_KINDS,
  MIRROR_MANIFEST_PATH,
  MIRROR_SCHEMA,
  type MirrorManifest,
} from '../adapters/mirror/mirror-layout.js';
import { MANIFEST_PATH, type ExportManifest } from '../bundle/manifest.js';
import { StellaError } from '../domain/errors.js';
import type { JWKS } from '../signing/signer.js';
import { isBaseLinkWarning } from '../signing/base-link.js';
import { verifyBundle, type VerifyResult } from '../signing/verify-bundle.js';
import { applyBundle, type VerifiedBundle } from './apply-bundle.js';
import { openBundle } from './bundle-source.js';
import { decryptForImport, isEncryptedBundle, type ReadableBundle } from './encrypted-bundle.js';
import { openMirrorDb, readHead, stateDigests, type MirrorDb, type MirrorHead } from './mirror-database.js';
import { sha256File } from '../signing/bundle-files.js';
import {
  decideTrust,
  pinKeys,
  signingKeyId,
  untrustedKeyMessage,
  type KeyTrust,
  type TrustDecision,
} from './trusted-keys.js';

export interface ImportOptions {
  root: string; // the mirror folder (holds mirror.db)
  bundle: string; // folder, .tar.zst or OCI layout
  ociReference?: string; // the tag, for a layout that holds several bundles
  // The publisher's keys: checked against, then pinned in the root (trusted-keys.ts). Without
  // them the root's pinned set is used, or on a first import the bundle's own (trust on first use).
  jwks?: JWKS;
  identities?: string[]; // age identities, for an encrypted bundle (parseIdentityFile)
}

export interface ImportResult {
  runId: string;
  kind: 'full' | 'delta';
  baseRunId?: string;
  keyId?: string;
  keySource: VerifyResult['keySource'];
  trust: KeyTrust;
  pinnedKeys: string; // the root's trusted-keys.json
  warnings: string[];
  counts: Record<string, number>;
  stateDigest: Record<string, string>;
}

// Verifies a bundle completely (an encrypted one as shipped, then decrypted with the given
// identities), then applies it to the mirror in one transaction: a bundle that fails
// verification or decryption, names a base this mirror does not hold, or breaks mid-way
// leaves the mirror exactly as it was.
export async function importBundle(options: ImportOptions): Promise<ImportResult> {
  const opened = await openBundle(options.bundle, options.ociReference);
  try {
    const trustInput = { root: options.root, bundleDir: opened.dir, given: options.jwks };
    const trust = await decideTrust(trustInput);
    const verified = await verifyOrRefuse(opened.dir, trust);
    const readable = await readableBundle(opened.dir, options.identities);
    try {
      const bundle = await readVerifiedBundle(readable, verified);
      const result = await applyToMirror(options.root, bundle, verified, trust);
      // Pinned only after the content is in: a refused import leaves the old pin as well.
      if (trust.pin) await pinKeys(options.root, trust.pin);

      return result;
    } finally {
      await readable.cleanup();
    }
  } finally {
    await opened.cleanup();
  }
}

async function applyToMirror(
  root: string,
  bundle: VerifiedBundle,
  verified: VerifyResult,
  trust: TrustDecision,
) {
  const db = openMirrorDb(root);
  try {
    requireBase(readHead(db), bundle);
    await inTransaction(db, () => applyBundle(db, bundle));

    return resultOf(bundle, verified, trust, stateDigests(db));
  } finally {
    db.close();
  }
}

async function readableBundle(
  dir: string,
  identities: string[] | undefined,
): Promise<ReadableBundle & { exportManifest: ExportManifest }> {
  const manifestText = await readFile(path.join(dir, MANIFEST_PATH), 'utf8');
  const exportManifest = JSON.parse(manifestText) as ExportManifest;
  if (isEncryptedBundle(exportManifest)) {
    return { ...(await decryptForImport(dir, exportManifest, identities)), exportManifest };
  }
  const listed = new Map(exportManifest.files.map((file) => [file.path, file]));

  return { dir, listed, exportManifest, cleanup: async () => undefined };
}

// The key set is always passed explicitly, so verifyBundle never falls back to the bundle's
// own signatures/jwks.json: on first use that set was read and chosen by decideTrust.
async function verifyOrRefuse(dir: string, trust: TrustDecision): Promise<VerifyResult> {
  const result = await verifyBundle({ bundleDir: dir, jwks: trust.jwks });
  if (result.ok) {
    return result;
  }
  const summary = result.failures
    .slice(0, 5)
    .map((f) => `${f.check}${f.path ? ` ${f.path}` : ''}: ${f.message}`)
    .join('; ');
  const keyFailure = result.failures.find((f) => f.check === 'key' || f.check === 'signature');
  const message = trust.trust === 'pinned' && keyFailure
    ? untrustedKeyMessage(await signingKeyId(dir), trust.pinPath, keyFailure.message)
    : `bundle failed verification: ${summary}`;
  throw new StellaError('integrity_failed', message, { details: { failures: result.failures } });
}

// export.json's hash is the one of the bundle as shipped (a decrypted copy holds it as is).
async function readVerifiedBundle(
  readable: ReadableBundle & { exportManifest: ExportManifest },
  verified: VerifyResult,
): Promise<VerifiedBundle> {
  const { dir, listed, exportManifest } = readable;
  if (!listed.has(MIRROR_MANIFEST_PATH)) {
    throw new StellaError('bad_request', 'the bundle is not a mirror bundle (no manifest.yaml)');
  }
  const manifest = parse(await readFile(path.join(dir, MIRROR_MANIFEST_PATH), 'utf8')) as MirrorManifest;
  if (manifest?.schema !== MIRROR_SCHEMA || !['full', 'delta'].includes(manifest.kind)) {
    throw new StellaError('schema_mismatch', `manifest.yaml is not a ${MIRROR_SCHEMA} manifest`);
  }
  checkBaseAgreement(exportManifest, manifest);
  for (const kind of MIRROR_KINDS) {
    const summary = manifest.content?.[kind];
    const named = [...(summary?.parts ?? []).map((p) => p.path), summary?.index, summary?.tombstones?.path];
    named.filter((p): p is string => !!p).forEach((p) => requireListed(listed, p));
  }

  return {
    dir,
    manifest,
    exportManifest,
    listed,
    manifestSha256: await sha256File(path.join(dir, MANIFEST_PATH)),
    keyId: verified.keyId,
  };
}

// export.json and manifest.yaml must name the same base (both are covered by the signature).
function checkBaseAgreement(exportManifest: ExportManifest, manifest: MirrorManifest) {
  const fromExport = exportManifest.base;
  const agree = manifest.kind === 'full'
    ? !fromExport && !manifest.base_export_id
    : fromExport?.runId === manifest.base_export_id &&
      fromExport?.manifestSha256 === manifest.base_manifest_sha256;
  if (!agree) {
    throw new StellaError('integrity_failed', 'export.json and manifest.yaml name different bases');
  }
}

function requireListed(listed: Map<string, unknown>, relative: string): void {
  if (!listed.has(relative)) {
    throw new StellaError('integrity_failed', `manifest.yaml names ${relative}, which export.json does not list`);
  }
}

function requireBase(head: MirrorHead | undefined, bundle: VerifiedBundle): void {
  const { manifest } = bundle;
  if (manifest.kind === 'full') {
    return;
  }
  if (head?.runId === manifest.base_export_id && head?.manifestSha256 === manifest.base_manifest_sha256) {
    return;
  }
  const holds = head ? `holds export ${head.runId} (export.json sha256 ${head.manifestSha256})` : 'is empty';
  throw new StellaError(
    'conflict',
    `this delta builds on export ${manifest.base_export_id} (export.json sha256 ` +
      `${manifest.base_manifest_sha256}), but the mirror ${holds}; import that export first`,
  );
}

async function inTransaction(db: MirrorDb, work: () => Promise<void>): Promise<void> {
  db.exec('BEGIN IMMEDIATE');
  try {
    await work();
    db.exec('COMMIT');
  } catch (err) {
    db.exec('ROLLBACK');
    throw err;
  }
}

function resultOf(
  bundle: VerifiedBundle,
  verified: VerifyResult,
  trust: TrustDecision,
  stateDigest: Record<string, string>,
): ImportResult {
  const verifyWarnings = verified.warnings.filter((warning) => !isBaseLinkWarning(warning));

  return {
    runId: bundle.exportManifest.runId,
    kind: bundle.manifest.kind,
    baseRunId: bundle.manifest.base_export_id,
    keyId: verified.keyId,
    keySource: trust.trust === 'first-use' ? 'embedded' : 'provided',
    trust: trust.trust,
    pinnedKeys: trust.pinPath,
    // The base link is checked here against the mirror's head (requireBase), not by verify.
    warnings: [...trust.warnings, ...verifyWarnings],
    counts: bundle.manifest.counts,
    stateDigest,
  };
}
