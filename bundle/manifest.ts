// The shapes of export.json and provenance.json: the two documents every bundle carries.

export const MANIFEST_SCHEMA = 'stella.export-manifest/v1';

export interface ManifestFile {
  path: string; // relative, forward slashes
  sha256: string;
  size: number;
  mediaType: string;
  records?: number;
}

export interface ManifestInput {
  sha256: string;
  mediaType: string;
  sourceUri: string;
  format: string;
}

export interface ExportManifest {
  schema: typeof MANIFEST_SCHEMA;
  runId: string;
  tenant: string;
  profile: { id: string; kind: string };
  filters: Record<string, unknown>;
  trigger: string;
  schemaVersions: Record<string, string>;
  adapter: { name: string; version: string };
  counts: Record<string, number>;
  // Set on bundles that build on an earlier export (mirror:delta).
  base?: { runId: string; manifestSha256: string };
  files: ManifestFile[];
  inputs: ManifestInput[];
  startedAt: string;
  finishedAt: string;
  generator: { name: string; version: string };
}

export const MANIFEST_PATH = 'export.json';
export const PROVENANCE_PATH = 'provenance.json';
export const SIGNATURE_PATH = 'signatures/export.sig';
export const JWKS_PATH = 'signatures/jwks.json';
