// Offline verification of an export bundle: the detached JWS over export.json, every listed
// file's size and SHA-256, nothing unlisted, provenance subjects that match the manifest, and
// the DSSE envelope over provenance.json when the bundle carries one, the per-file detached
// signatures export.json lists, and for a delta the hash of the base manifest it names
// (base-link.ts).
// Every failure is collected; nothing stops at the first.
import { readFile, stat } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';

import {
  JWKS_PATH,
  MANIFEST_PATH,
  MANIFEST_SCHEMA,
  PROVENANCE_PATH,
  SIGNATURE_PATH,
  type DetachedSignature,
  type ManifestFile,
} from '../bundle/manifest.js';
import { StellaError } from '../domain/errors.js';
import {
  manifestPathProblem,
  mapLimited,
  readIfPresent,
  sha256File,
  walkBundle,
  type BundleTree,
} from './bundle-files.js';
import { checkBaseLink, type BaseLink, type BaseManifestInput } from './base-link.js';
import { verifyDetachedJws } from './jws.js';
import { provenanceProblems } from './provenance-check.js';
import { provenanceEnvelopeProblems } from './provenance-envelope.js';
import type { JWKS } from './signer.js';

export type VerifyCheck =
  | 'signature' | 'hash' | 'size' | 'missing_file' | 'unlisted_file' | 'provenance' | 'manifest'
  | 'key' | 'base';

export interface VerifyFailure {
  check: VerifyCheck;
  path?: string;
  message: string;
}

export interface VerifyResult {
  ok: boolean;
  keyId?: string;
  // 'embedded': the bundle's own signatures/jwks.json was trusted. That proves the bundle is
  // intact, not who made it: anyone can re-sign a bundle and ship their own key set.
  keySource: 'provided' | 'embedded';
  failures: VerifyFailure[];
  warnings: string[];
  filesChecked: number; // listed files that were present and compared
  baseLink?: BaseLink; // absent only when export.json could not be read
}

export interface VerifyBundleOptions {
  bundleDir: string;
  manifestPath?: string; // default <bundleDir>/export.json
  signaturePath?: string; // default <bundleDir>/signatures/export.sig
  jwks?: JWKS; // trusted keys; default <bundleDir>/signatures/jwks.json
  base?: BaseManifestInput; // for a delta: the base bundle's export.json
}

const HASH_CONCURRENCY = 4;
const SHA256_HEX = /^[0-9a-f]{64}$/;
const EMBEDDED_KEYS_WARNING =
  'verified with the key set inside the bundle (signatures/jwks.json): this shows the bundle ' +
  'is intact, not who produced it; pass trusted keys to establish origin';

export async function verifyBundle(options: VerifyBundleOptions): Promise<VerifyResult> {
  const bundleDir = resolve(options.bundleDir);
  await assertDirectory(bundleDir);
  const manifestPath = resolve(options.manifestPath ?? join(bundleDir, MANIFEST_PATH));
  const signaturePath = resolve(options.signaturePath ?? join(bundleDir, SIGNATURE_PATH));
  const result: VerifyResult = {
    ok: false,
    keySource: options.jwks ? 'provided' : 'embedded',
    failures: [],
    warnings: options.jwks ? [] : [EMBEDDED_KEYS_WARNING],
    filesChecked: 0,
  };

  const manifestBytes = await readIfPresent(manifestPath);
  if (!manifestBytes) {
    return finish(result, [manifestFailure(display(bundleDir, manifestPath), 'is missing')]);
  }

  const signatureInput = { bundleDir, signaturePath, manifestBytes, jwks: options.jwks };
  const jwks = await checkSignature(result, signatureInput);
  const listed = listedFiles(result, manifestBytes, display(bundleDir, manifestPath));
  if (listed) {
    const excluded = [manifestPath, signaturePath].map((path) => display(bundleDir, path));
    await checkContents(result, bundleDir, listed, excluded);
  }
  if (jwks) result.failures.push(...(await provenanceEnvelopeProblems(bundleDir, jwks)));
  if (jwks) await checkDetachedSignatures(result, bundleDir, manifestBytes, jwks);
  checkBase(result, manifestBytes, options.base);

  return finish(result, []);
}

function checkBase(
  result: VerifyResult,
  manifestBytes: Uint8Array,
  base: BaseManifestInput | undefined,
): void {
  const verdict = checkBaseLink(parseJson(manifestBytes), base);
  result.baseLink = verdict.link;
  if (verdict.warning) result.warnings.push(verdict.warning);
  if (verdict.failure) {
    result.failures.push({ check: 'base', path: MANIFEST_PATH, message: verdict.failure });
  }
}

function finish(result: VerifyResult, failures: VerifyFailure[]): VerifyResult {
  result.failures.push(...failures);
  result.ok = result.failures.length === 0;

  return result;
}

async function assertDirectory(bundleDir: string): Promise<void> {
  const stats = await stat(bundleDir).catch((err: unknown) => {
    const message = `bundle directory ${bundleDir} does not exist`;
    throw new StellaError('not_found', message, { cause: err });
  });
  if (!stats.isDirectory()) {
    throw new StellaError('bad_request', `${bundleDir} is not a directory`);
  }
}

// --- signature ----------------------------------------------------------------------------

interface SignatureInput {
  bundleDir: string;
  signaturePath: string;
  manifestBytes: Uint8Array;
  jwks?: JWKS;
}

// Returns the key set the bundle was checked against, for the other signatures in it.
async function checkSignature(
  result: VerifyResult,
  input: SignatureInput,
): Promise<JWKS | undefined> {
  const signatureName = display(input.bundleDir, input.signaturePath);
  const jwks = input.jwks ?? (await embeddedJwks(result, input.bundleDir));
  const jws = await readIfPresent(input.signaturePath);
  if (!jws) {
    result.failures.push({ check: 'signature', path: signatureName, message: 'is missing' });
    return jwks;
  }
  if (!jwks) return undefined;

  const verdict = await verifyDetachedJws(new TextDecoder().decode(jws), input.manifestBytes, jwks);
  if (verdict.ok) {
    result.keyId = verdict.keyId;
    if (verdict.keyStatus === 'retired') result.warnings.push(`key ${verdict.keyId} is retired`);
    return jwks;
  }

  const path = verdict.check === 'key' && !input.jwks ? JWKS_PATH : signatureName;
  result.failures.push({ check: verdict.check, path, message: verdict.message });

  return jwks;
}

// The per-file signatures export.json lists (a mirror's manifest.yaml, a Trivy database):
// each must be present and a valid JWS over its file. The file's own bytes are already
// checked against the manifest; this proves the separate signature a consumer may read.
async function checkDetachedSignatures(
  result: VerifyResult,
  bundleDir: string,
  manifestBytes: Uint8Array,
  jwks: JWKS,
): Promise<void> {
  const manifest = parseJson(manifestBytes) as { detachedSignatures?: unknown } | undefined;
  const entries = manifest?.detachedSignatures;
  if (entries === undefined) return;
  if (!Array.isArray(entries)) {
    result.failures.push(manifestFailure(MANIFEST_PATH, 'has a malformed "detachedSignatures" list'));
    return;
  }

  for (const entry of entries as DetachedSignature[]) {
    const problem = detachedSignatureProblem(entry);
    if (problem) {
      result.failures.push({ check: 'manifest', path: MANIFEST_PATH, message: problem });
      continue;
    }
    const failure = await detachedSignatureFailure(bundleDir, entry, jwks);
    if (failure) result.failures.push(failure);
  }
}

function detachedSignatureProblem(entry: DetachedSignature): string | undefined {
  if (typeof entry?.file !== 'string' || typeof entry?.signature !== 'string') {
    return 'lists a detached signature without "file" and "signature"';
  }
  if (!entry.signature.startsWith('signatures/')) {
    return `lists the detached signature ${entry.signature} outside signatures/`;
  }

  const pathProblem = [entry.file, entry.signature]
    .map((path) => [path, manifestPathProblem(path)])
    .find(([, problem]) => problem !== undefined);

  return pathProblem ? `lists the detached signature path ${pathProblem[0]}: ${pathProblem[1]}` : undefined;
}

async function detachedSignatureFailure(
  bundleDir: string,
  entry: DetachedSignature,
  jwks: JWKS,
): Promise<VerifyFailure | undefined> {
  const jws = await readIfPresent(join(bundleDir, entry.signature));
  if (!jws) return { check: 'signature', path: entry.signature, message: 'is missing' };
  const signed = await readIfPresent(join(bundleDir, entry.file));
  if (!signed) return undefined; // a missing listed file is already a missing_file failure

  const verdict = await verifyDetachedJws(new TextDecoder().decode(jws), signed, jwks);
  if (verdict.ok) return undefined;

  return { check: verdict.check, path: entry.signature, message: `over ${entry.file}: ${verdict.message}` };
}

async function embeddedJwks(
  result: VerifyResult,
  bundleDir: string,
): Promise<JWKS | undefined> {
  const bytes = await readIfPresent(join(bundleDir, JWKS_PATH));
  const jwks = bytes ? parseJson(bytes) : undefined;
  const valid = Array.isArray((jwks as JWKS | undefined)?.keys);
  if (!valid) {
    const message = bytes ? 'is not a JSON Web Key Set' : 'is missing, and no keys were given';
    result.failures.push({ check: 'key', path: JWKS_PATH, message });
  }

  return valid ? (jwks as JWKS) : undefined;
}

// --- manifest -----------------------------------------------------------------------------

interface EntryProblem {
  path?: string;
  message: string;
}

interface ListedFiles {
  valid: ManifestFile[]; // well-formed, distinct entries: these are checked
  paths: Set<string>; // every listed path, malformed entries included: these are not "unlisted"
}

// Every malformed entry is a `manifest` failure.
function listedFiles(
  result: VerifyResult,
  manifestBytes: Uint8Array,
  manifestName: string,
): ListedFiles | undefined {
  const manifest = parseJson(manifestBytes) as Record<string, unknown> | undefined;
  if (!manifest || typeof manifest !== 'object' || !Array.isArray(manifest.files)) {
    result.failures.push(manifestFailure(manifestName, 'is not a manifest (no "files" array)'));
    return undefined;
  }
  if (manifest.schema !== MANIFEST_SCHEMA) {
    const message = `has schema ${JSON.stringify(manifest.schema)}, expected ${MANIFEST_SCHEMA}`;
    result.failures.push(manifestFailure(manifestName, message));
  }

  const paths = manifest.files.map((entry) => (entry as Partial<ManifestFile> | null)?.path);
  const strings = paths.filter((path): path is string => typeof path === 'string');

  return { valid: validEntries(result, manifest.files), paths: new Set(strings) };
}

function validEntries(result: VerifyResult, entries: unknown[]): ManifestFile[] {
  const seen = new Set<string>();
  const valid: ManifestFile[] = [];
  for (const [index, entry] of entries.entries()) {
    const problem = entryProblem(entry, seen);
    if (problem) {
      const path = problem.path ?? `files[${index}]`;
      result.failures.push({ check: 'manifest', path, message: problem.message });
      continue;
    }
    seen.add((entry as ManifestFile).path);
    valid.push(entry as ManifestFile);
  }

  return valid;
}

function entryProblem(entry: unknown, seen: Set<string>): EntryProblem | undefined {
  const file = entry as Partial<ManifestFile> | null;
  if (typeof file?.path !== 'string') return { message: 'a file entry has no path' };

  const path = file.path;
  const pathProblem = manifestPathProblem(path);
  if (pathProblem) return { path, message: pathProblem };
  if (seen.has(path)) return { path, message: 'the path is listed twice' };
  if (typeof file.sha256 !== 'string' || !SHA256_HEX.test(file.sha256)) {
    return { path, message: 'sha256 is not 64 lowercase hex digits' };
  }
  if (!Number.isSafeInteger(file.size) || (file.size as number) < 0) {
    return { path, message: 'size is not a non-negative integer' };
  }

  return undefined;
}

// --- contents -----------------------------------------------------------------------------

async function checkContents(
  result: VerifyResult,
  bundleDir: string,
  listed: ListedFiles,
  excluded: string[],
): Promise<void> {
  const tree = await walkBundle(bundleDir);
  const intact = await checkListedFiles(result, bundleDir, listed.valid, tree);
  checkUnlisted(result, listed.paths, tree, excluded);
  await checkProvenance(result, bundleDir, listed, intact);
}

// Returns the paths whose size and hash matched.
async function checkListedFiles(
  result: VerifyResult,
  bundleDir: string,
  files: ManifestFile[],
  tree: BundleTree,
): Promise<Set<string>> {
  const verdicts = await mapLimited(files, HASH_CONCURRENCY, (file) =>
    checkFile(bundleDir, file, tree),
  );
  const intact = new Set<string>();
  for (const [index, verdict] of verdicts.entries()) {
    if (verdict.checked) result.filesChecked += 1;
    if (verdict.failure) result.failures.push(verdict.failure);
    else intact.add(files[index].path);
  }

  return intact;
}

async function checkFile(
  bundleDir: string,
  file: ManifestFile,
  tree: BundleTree,
): Promise<{ checked: boolean; failure?: VerifyFailure }> {
  const size = tree.files.get(file.path);
  if (size === undefined) {
    const kind = tree.nonRegular.get(file.path);
    const message = kind ? `is ${kind}, not a regular file` : 'is listed but missing';
    return { checked: false, failure: { check: 'missing_file', path: file.path, message } };
  }
  // A size mismatch already proves the bytes differ; hashing would add nothing.
  if (size !== file.size) {
    const message = `is ${size} bytes, the manifest says ${file.size}`;
    return { checked: true, failure: { check: 'size', path: file.path, message } };
  }

  const actual = await sha256File(join(bundleDir, file.path));
  if (actual !== file.sha256) {
    const message = `sha256 is ${actual}, the manifest says ${file.sha256}`;
    return { checked: true, failure: { check: 'hash', path: file.path, message } };
  }

  return { checked: true };
}

function checkUnlisted(
  result: VerifyResult,
  listed: Set<string>,
  tree: BundleTree,
  excluded: string[],
): void {
  const present = [...tree.files.keys(), ...tree.nonRegular.keys()].sort();
  for (const path of present) {
    if (listed.has(path) || excluded.includes(path) || isSignatureMaterial(path)) continue;
    const message = 'is not listed in the manifest';
    result.failures.push({ check: 'unlisted_file', path, message });
  }
}

function isSignatureMaterial(path: string): boolean {
  return path === MANIFEST_PATH || path.startsWith('signatures/');
}

// Subjects are only compared once provenance.json's own bytes matched the manifest; a
// tampered statement is already a hash/size failure and its contents would only add noise.
async function checkProvenance(
  result: VerifyResult,
  bundleDir: string,
  listed: ListedFiles,
  intact: Set<string>,
): Promise<void> {
  if (!listed.paths.has(PROVENANCE_PATH)) {
    const message = 'the manifest does not list provenance.json';
    result.failures.push({ check: 'provenance', path: PROVENANCE_PATH, message });
    return;
  }
  if (!intact.has(PROVENANCE_PATH)) return;

  const text = await readFile(join(bundleDir, PROVENANCE_PATH), 'utf8');
  for (const problem of provenanceProblems(text, listed.valid, listed.paths)) {
    result.failures.push({ check: 'provenance', ...problem });
  }
}

// --- helpers ------------------------------------------------------------------------------


function parseJson(bytes: Uint8Array): unknown {
  try {
    return JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    return undefined;
  }
}

function manifestFailure(path: string, message: string): VerifyFailure {
  return { check: 'manifest', path, message };
}

// Paths inside the bundle are reported relative with forward slashes; others as given.
function display(bundleDir: string, path: string): string {
  const inside = relative(bundleDir, path);
  const outside = inside === '..' || inside.startsWith(`..${sep}`) || isAbsolute(inside);
  if (outside) return path;

  return inside.split(sep).join('/');
}
