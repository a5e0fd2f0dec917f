// Import of an age-encrypted mirror bundle. export.json lists the ciphertexts (<path>.age),
// so the bundle is verified as shipped first; only then is its encryption.json trusted to
// map each ciphertext to its plaintext path and hash. The plaintext goes to a temporary
// folder (checked file by file by decryptMirrorBundle) that the import reads from.
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import {
  ENCRYPTION_INFO_PATH,
  decryptMirrorBundle,
  readEncryptionInfo,
  type EncryptionInfo,
} from '../adapters/mirror/mirror-encryption.js';
import { removeQuietly } from '../bundle/files.js';
import type { ExportManifest, ManifestFile } from '../bundle/manifest.js';
import { StellaError } from '../domain/errors.js';

export interface ReadableBundle {
  dir: string; // a folder whose files are the plaintext
  listed: Map<string, ManifestFile>; // plaintext path → its verified size and sha256
  cleanup(): Promise<void>;
}

export function isEncryptedBundle(exportManifest: ExportManifest): boolean {
  return exportManifest.files.some((file) => file.path === ENCRYPTION_INFO_PATH);
}

// The bundle at `dir` must already have passed verifyBundle.
export async function decryptForImport(
  dir: string,
  exportManifest: ExportManifest,
  identities: string[] | undefined,
): Promise<ReadableBundle> {
  if (!identities) {
    const message = 'the bundle is encrypted (age): pass the identity file (--identity FILE)';
    throw new StellaError('bad_request', message);
  }

  const info = await readEncryptionInfo(dir);
  const outDir = await mkdtemp(path.join(os.tmpdir(), 'stella-mirror-plaintext-'));
  try {
    await decryptMirrorBundle({ bundleDir: dir, outDir, identities });
  } catch (err) {
    await removeQuietly(outDir);
    throw err;
  }

  const listed = plaintextListing(exportManifest, info);

  return { dir: outDir, listed, cleanup: () => removeQuietly(outDir) };
}

// Every .age entry of export.json is replaced by the plaintext it decrypted to (whose hash
// decryptMirrorBundle checked); every other entry stays as listed.
function plaintextListing(
  exportManifest: ExportManifest,
  info: EncryptionInfo,
): Map<string, ManifestFile> {
  const sealed = new Map(info.files.map((file) => [file.path, file.plaintext]));
  const listed = new Map<string, ManifestFile>();
  for (const file of exportManifest.files) {
    const plaintext = sealed.get(file.path);
    const entry = plaintext ?? file;
    listed.set(entry.path, entry);
  }

  return listed;
}
