// Builds small signed bundles in a temporary directory, laid out as the exporter writes them.
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

import {
  JWKS_PATH,
  MANIFEST_PATH,
  MANIFEST_SCHEMA,
  PROVENANCE_PATH,
  SIGNATURE_PATH,
  type ExportManifest,
  type ManifestFile,
} from '../../../bundle/manifest.js';
import type { JWKS, Signer } from '../../../signing/signer.js';

export const DATA_FILES: Record<string, string> = {
  'advisories/normalized.jsonl.zst': 'advisory bytes\n',
  'vex/normalized.jsonl.zst': 'vex bytes\n',
  'sboms/pkg-a.cdx.json': '{"bomFormat":"CycloneDX","specVersion":"1.6"}\n',
};

const created: string[] = [];

export async function temporaryDir(prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), `stella-${prefix}-`));
  created.push(dir);

  return dir;
}

export async function removeTemporaryDirs(): Promise<void> {
  const dirs = created.splice(0);
  await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
}

export async function buildBundle(
  signer: Signer,
  jwks?: JWKS,
  extraFiles: Record<string, string> = {},
): Promise<string> {
  const bundleDir = await temporaryDir('bundle');
  const dataFiles = await writeFiles(bundleDir, { ...DATA_FILES, ...extraFiles });
  const provenance = await writeFiles(bundleDir, { [PROVENANCE_PATH]: statementFor(dataFiles) });
  await writeManifest(bundleDir, signer, manifestFor([...dataFiles, ...provenance]));
  const published = jwks ?? { keys: [await signer.publicJwk()] };
  await writeFile(join(bundleDir, JWKS_PATH), JSON.stringify(published));

  return bundleDir;
}

// Rewrites and re-signs export.json, for cases where the manifest itself is at fault.
export async function editManifest(
  bundleDir: string,
  signer: Signer,
  edit: (manifest: ExportManifest) => void,
): Promise<void> {
  const manifest = JSON.parse(await readFile(join(bundleDir, MANIFEST_PATH), 'utf8'));
  edit(manifest);
  await writeManifest(bundleDir, signer, manifest);
}

export async function writeManifest(
  bundleDir: string,
  signer: Signer,
  manifest: ExportManifest,
): Promise<void> {
  const bytes = Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`);
  await writeFile(join(bundleDir, MANIFEST_PATH), bytes);
  await mkdir(join(bundleDir, 'signatures'), { recursive: true });
  // Like the exporter: the compact JWS plus a line break.
  await writeFile(join(bundleDir, SIGNATURE_PATH), `${await signer.signDetached(bytes)}\n`);
}

export function statementFor(files: ManifestFile[]): string {
  const subject = files.map((file) => ({ name: file.path, digest: { sha256: file.sha256 } }));
  const statement = {
    _type: 'https://in-toto.io/Statement/v1',
    subject,
    predicateType: 'https://slsa.dev/provenance/v1',
    predicate: {},
  };

  return JSON.stringify(statement);
}

async function writeFiles(root: string, files: Record<string, string>): Promise<ManifestFile[]> {
  const written: ManifestFile[] = [];
  for (const [path, text] of Object.entries(files)) {
    const bytes = Buffer.from(text);
    await mkdir(dirname(join(root, path)), { recursive: true });
    await writeFile(join(root, path), bytes);
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    written.push({ path, sha256, size: bytes.length, mediaType: 'application/octet-stream' });
  }

  return written;
}

function manifestFor(files: ManifestFile[]): ExportManifest {
  return {
    schema: MANIFEST_SCHEMA,
    runId: 'run-0001',
    tenant: 'acme',
    profile: { id: 'default', kind: 'json' },
    filters: {},
    trigger: 'manual',
    schemaVersions: {},
    adapter: { name: 'json', version: '1' },
    counts: {},
    files,
    inputs: [],
    startedAt: '2025-01-01T00:00:00.000Z',
    finishedAt: '2025-01-01T00:00:01.000Z',
    generator: { name: 'stella-export-center', version: '0.1.0' },
  };
}
