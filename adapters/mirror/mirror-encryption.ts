// Encryption of mirror bundles with age (age-encryption.org/v1) for one or more recipients,
// set in the profile config: { encrypt: true, recipients: ['age1…'], strict?: true }.
//
// Hooked in as a wrapper around a mirror adapter's write (the smallest change to the
// adapters): the adapter writes its plaintext tree under staging as always, then every data
// file is replaced by `<path>.age` and the manifest entries by the ciphertexts' hashes, so
// export.json's signature covers exactly what ships and a bundle verifies without any key.
// manifest.yaml and README.md stay readable unless `strict`. encryption.json (plaintext,
// signed like every file) maps each `.age` file to its plaintext path, size and sha256, so
// decryption checks every byte it restores against the signed bundle.
//
// Plaintext exists in the staging folder until it is encrypted: the worker's disk holds
// what the database already holds, nothing more. A strict bundle cannot be the base of a
// mirror:delta (the delta adapter reads the base's manifest.yaml).
import { createReadStream, createWriteStream } from 'node:fs';
import { cp, mkdir, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Decrypter, Encrypter } from 'age-encryption';
import {
  DigestingStream,
  digestFile,
  temporaryNameFor,
  writeFileAtomic,
} from '../../bundle/files.js';
import type { ManifestFile } from '../../bundle/manifest.js';
import { StellaError } from '../../domain/errors.js';
import type { AdapterOutput, FileLineage, WriteContext } from '../export-adapter.js';
import { MIRROR_MANIFEST_PATH, MIRROR_README_PATH } from './mirror-layout.js';

export const ENCRYPTION_INFO_PATH = 'encryption.json';
export const ENCRYPTION_SCHEMA = 'stella.mirror-encryption/v1';
export const ENCRYPTED_SUFFIX = '.age';
export const AGE_MEDIA_TYPE = 'application/age';
// Bech32 X25519 recipients (age1…, 62 characters) and the longer post-quantum ones.
export const AGE_RECIPIENT = /^age1[02-9ac-hj-np-z]{58,}$/;

export interface MirrorEncryption {
  recipients: string[];
  strict: boolean;
}

export interface EncryptedFileInfo {
  path: string; // the .age file in the bundle
  plaintext: { path: string; sha256: string; size: number; mediaType: string };
}

export interface EncryptionInfo {
  schema: typeof ENCRYPTION_SCHEMA;
  scheme: 'age';
  strict: boolean;
  recipients: string[];
  files: EncryptedFileInfo[];
}

export interface DecryptBundleOptions {
  bundleDir: string;
  outDir: string; // must not exist yet, or be empty
  identities: string[]; // age identity lines, AGE-SECRET-KEY-…
}

export interface DecryptBundleResult {
  decrypted: string[]; // plaintext paths written under outDir
  copied: string[]; // files copied as they were (the readable part of the bundle)
}

type MirrorWrite = (context: WriteContext) => Promise<AdapterOutput>;

const ALWAYS_READABLE = [MIRROR_MANIFEST_PATH, MIRROR_README_PATH];

export function withMirrorEncryption(write: MirrorWrite): MirrorWrite {
  return async (context) => {
    // Decided before the adapter writes a byte: a misconfigured profile writes nothing.
    const encryption = mirrorEncryptionOf(context.profileConfig);
    const output = await write(context);

    return encryption ? encryptOutput(context.stagingDir, output, encryption) : output;
  };
}

// undefined when the profile does not ask for encryption; bad_request when it asks without
// usable recipients.
export function mirrorEncryptionOf(config: Record<string, unknown>): MirrorEncryption | undefined {
  if (config.encrypt !== true) return undefined;

  const recipients = config.recipients;
  if (!Array.isArray(recipients) || recipients.length === 0) {
    const message = 'encrypt=true needs recipients: one or more age public keys (age1…)';
    throw new StellaError('bad_request', message);
  }
  const invalid = recipients.filter((r) => typeof r !== 'string' || !AGE_RECIPIENT.test(r));
  if (invalid.length > 0) {
    const shown = invalid.map((r) => JSON.stringify(r)).join(', ');
    throw new StellaError('bad_request', `not age recipients (age1…): ${shown}`);
  }
  encrypterFor(recipients as string[]);

  return { recipients: recipients as string[], strict: config.strict === true };
}

function encrypterFor(recipients: string[]): Encrypter {
  const encrypter = new Encrypter();
  for (const recipient of recipients) {
    try {
      encrypter.addRecipient(recipient);
    } catch (err) {
      throw new StellaError('bad_request', `${recipient} is not a valid age recipient`, {
        cause: err,
      });
    }
  }

  return encrypter;
}

async function encryptOutput(
  stagingDir: string,
  output: AdapterOutput,
  encryption: MirrorEncryption,
): Promise<AdapterOutput> {
  const encrypter = encrypterFor(encryption.recipients);
  const files: ManifestFile[] = [];
  const lineage: Record<string, FileLineage> = {};
  const encrypted: EncryptedFileInfo[] = [];
  for (const file of output.files) {
    if (ALWAYS_READABLE.includes(file.path) && !encryption.strict) {
      files.push(file);
      lineage[file.path] = output.lineage[file.path];
      continue;
    }
    const sealed = await encryptFile(encrypter, stagingDir, file);
    files.push(sealed.file);
    lineage[sealed.file.path] = output.lineage[file.path];
    encrypted.push(sealed.info);
  }
  files.push(await writeEncryptionInfo(stagingDir, encryption, encrypted));
  lineage[ENCRYPTION_INFO_PATH] = { documents: [] };
  // A strict bundle has no readable manifest.yaml to sign on its own; export.sig covers all.
  const extraSignedFiles = encryption.strict ? [] : output.extraSignedFiles;

  return { ...output, files, lineage, extraSignedFiles };
}

async function encryptFile(
  encrypter: Encrypter,
  stagingDir: string,
  file: ManifestFile,
): Promise<{ file: ManifestFile; info: EncryptedFileInfo }> {
  const source = path.join(stagingDir, file.path);
  const relative = `${file.path}${ENCRYPTED_SUFFIX}`;
  const target = path.join(stagingDir, relative);
  const ciphertext = await encrypter.encrypt(webStreamOf(source));
  await writeStreamAtomic(target, ciphertext);
  await rm(source);
  const digest = await digestFile(target);
  const { sha256, size, mediaType } = file;
  const plaintext = { path: file.path, sha256, size, mediaType };
  const records = file.records === undefined ? {} : { records: file.records };

  return {
    file: { path: relative, mediaType: AGE_MEDIA_TYPE, ...digest, ...records },
    info: { path: relative, plaintext },
  };
}

async function writeEncryptionInfo(
  stagingDir: string,
  encryption: MirrorEncryption,
  files: EncryptedFileInfo[],
): Promise<ManifestFile> {
  const info: EncryptionInfo = {
    schema: ENCRYPTION_SCHEMA,
    scheme: 'age',
    strict: encryption.strict,
    recipients: [...encryption.recipients],
    files: [...files].sort((a, b) => a.path.localeCompare(b.path)),
  };
  const target = path.join(stagingDir, ENCRYPTION_INFO_PATH);
  await writeFileAtomic(target, `${JSON.stringify(info, null, 2)}\n`);

  const digest = await digestFile(target);

  return { path: ENCRYPTION_INFO_PATH, mediaType: 'application/json', ...digest };
}

// --- decryption ----------------------------------------------------------------------------

// Restores the plaintext tree of an encrypted mirror bundle under outDir: readable files are
// copied, each .age file is decrypted to its plaintext path and checked against the size
// and sha256 that encryption.json records. Verify the bundle (signature, hashes) first: only
// then is encryption.json itself to be trusted.
export async function decryptMirrorBundle(
  options: DecryptBundleOptions,
): Promise<DecryptBundleResult> {
  const info = await readEncryptionInfo(options.bundleDir);
  const decrypter = decrypterFor(options.identities);
  const result: DecryptBundleResult = { decrypted: [], copied: [] };
  await assertEmptyOrAbsent(options.outDir);
  result.copied = await copyReadable(options.bundleDir, options.outDir, info);
  for (const file of info.files) {
    await decryptFile(decrypter, options, file);
    result.decrypted.push(file.plaintext.path);
  }

  return result;
}

async function assertEmptyOrAbsent(dir: string): Promise<void> {
  const entries = await readdir(dir).catch(() => []);
  if (entries.length > 0) {
    throw new StellaError('conflict', `${dir} is not empty; decrypt into a new folder`);
  }
}

async function copyReadable(
  bundleDir: string,
  outDir: string,
  info: EncryptionInfo,
): Promise<string[]> {
  const sealed = new Set(info.files.map((file) => file.path));
  const copied: string[] = [];
  await cp(bundleDir, outDir, {
    recursive: true,
    filter: async (source) => {
      const relative = path.relative(bundleDir, source).split(path.sep).join('/');
      const keep = !sealed.has(relative);
      if (keep && relative !== '' && (await isFile(source))) copied.push(relative);

      return keep;
    },
  });

  return copied.sort();
}

async function isFile(file: string): Promise<boolean> {
  return stat(file).then((s) => s.isFile(), () => false);
}

export async function readEncryptionInfo(bundleDir: string): Promise<EncryptionInfo> {
  const text = await readFile(path.join(bundleDir, ENCRYPTION_INFO_PATH), 'utf8').catch(
    (err: unknown) => {
      const message = `${bundleDir} is not an encrypted bundle (no ${ENCRYPTION_INFO_PATH})`;
      throw new StellaError('bad_request', message, { cause: err });
    },
  );
  const info = JSON.parse(text) as EncryptionInfo;
  if (info.schema !== ENCRYPTION_SCHEMA || info.scheme !== 'age' || !Array.isArray(info.files)) {
    throw new StellaError('schema_mismatch', `${ENCRYPTION_INFO_PATH} is not ${ENCRYPTION_SCHEMA}`);
  }

  return info;
}

export function parseIdentityFile(text: string): string[] {
  const identities = text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
  if (identities.length === 0) {
    throw new StellaError('bad_request', 'the identity file holds no age identity line (AGE-SECRET-KEY-…)');
  }

  return identities;
}

function decrypterFor(identities: string[]): Decrypter {
  const decrypter = new Decrypter();
  for (const identity of identities) {
    try {
      decrypter.addIdentity(identity);
    } catch (err) {
      // The message names no key material: the identity line is a secret.
      throw new StellaError('bad_request', 'an identity is not an age secret key', { cause: err });
    }
  }

  return decrypter;
}

async function decryptFile(
  decrypter: Decrypter,
  options: DecryptBundleOptions,
  file: EncryptedFileInfo,
): Promise<void> {
  const source = path.join(options.bundleDir, safeRelative(file.path));
  const target = path.join(options.outDir, safeRelative(file.plaintext.path));
  let plaintext: ReadableStream<Uint8Array>;
  try {
    plaintext = await decrypter.decrypt(webStreamOf(source));
  } catch (err) {
    throw headerError(file.path, err);
  }

  const digest = await writeStreamAtomic(target, plaintext).catch((err: unknown) => {
    const message = `${file.path} is not intact age data`;
    throw new StellaError('integrity_failed', message, { cause: err });
  });
  if (digest.sha256 !== file.plaintext.sha256 || digest.size !== file.plaintext.size) {
    await rm(target, { force: true });
    const message = `${file.plaintext.path} does not match ${ENCRYPTION_INFO_PATH} once decrypted`;
    throw new StellaError('integrity_failed', message);
  }
}

// age reads the header before any payload: either no identity fits, or the header is bad.
function headerError(relative: string, err: unknown): StellaError {
  const reason = (err as Error)?.message ?? String(err);
  if (/no identity matched/i.test(reason)) {
    const message = `none of the identities can decrypt ${relative} (not one of its recipients)`;
    return new StellaError('denied', message, { cause: err });
  }

  return new StellaError('integrity_failed', `${relative}: ${reason}`, { cause: err });
}

// Paths come from encryption.json; one that climbs out of the folder is refused.
function safeRelative(relative: string): string {
  const normal = path.posix.normalize(relative);
  if (normal.startsWith('../') || path.posix.isAbsolute(normal) || normal.includes('\0')) {
    throw new StellaError('integrity_failed', `${ENCRYPTION_INFO_PATH} names ${relative}`);
  }

  return normal;
}

// --- streams ---------------------------------------------------------------------------------

function webStreamOf(file: string): ReadableStream<Uint8Array> {
  return Readable.toWeb(createReadStream(file)) as ReadableStream<Uint8Array>;
}

async function writeStreamAtomic(
  target: string,
  stream: ReadableStream<Uint8Array>,
): Promise<{ sha256: string; size: number }> {
  await mkdir(path.dirname(target), { recursive: true });
  const temporary = temporaryNameFor(target);
  const digesting = new DigestingStream();
  try {
    await pipeline(Readable.fromWeb(stream as never), digesting, createWriteStream(temporary));
  } catch (err) {
    await rm(temporary, { force: true });
    throw err;
  }
  await rename(temporary, target);

  return digesting.digest();
}
