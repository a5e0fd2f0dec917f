// The shapes of export.json and provenance.json: the two documents every bundle carries.

export const MANIFEST_SCHEMA = 'stella.export-manifest/v1';

export interface ManifestFile {
  path: string; // relative, forward slashes
  sha256: string;
  size: number;
  mediaType: string;
  records?: number;
  // Set on the numbered parts of a data file that grew past its profile's part size
  // (bundle/sharded-jsonl.ts); a file small enough to stay whole has none.
  shard?: ManifestShard;
}

// One part of a split data file. `of` is the path the file has when it is not split; the
// parts of one file are numbered 1…count in record order, and reading them in that order
// gives the lines of the unsplit file.
export interface ManifestShard {
  of: string;
  index: number;
  count: number;
  // The kind of record the part holds, e.g. `advisory` (a split is always within one kind).
  contentType: string;
  // For files sorted by a key (advisory id; VEX vulnerability and product): the keys of the
  // part's first and last record, so a reader can pick the parts a key range needs.
  firstKey?: string;
  lastKey?: string;
}

// A raw document left out of a bundle: named by hash and by the pointers of the offending
// fields, never by their values. Its normalized records still ship.
export interface WithheldDocument {
  kind: string; // the bundle folder it would have gone to: advisories, vex, sboms
  recordId?: string; // the document's own id (OSV id, CSAF tracking id, SBOM serial number)
  sha256: string;
  reason: 'unknown_fields' | 'secret_pattern';
  pointers: string[]; // RFC 6901, at most 100
  pointerCount: number;
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
  // Set by profiles that ship raw documents (json:raw, mirror:*): those the raw-document
  // screen (redaction/) kept out of the bundle, in the order they were met.
  withheld?: WithheldDocument[];
  // Detached signatures over single files besides export.json (a mirror's manifest.yaml,
  // each Trivy database), for consumers that read one file before the rest of the bundle.
  detachedSignatures?: DetachedSignature[];
  inputs: ManifestInput[];
  startedAt: string;
  finishedAt: string;
  generator: { name: string; version: string };
}

export interface DetachedSignature {
  file: string; // the signed file, a listed bundle path
  signature: string; // signatures/<name>.sig: a detached compact JWS over the file's bytes
}

// `manifest.yaml` → `signatures/manifest.sig`, `trivy/db.bundle` → `signatures/db.sig`.
export function detachedSignaturePath(file: string): string {
  const name = file.slice(file.lastIndexOf('/') + 1).replace(/\.[^.]+$/, '');

  return `signatures/${name}.sig`;
}

export const MANIFEST_PATH = 'export.json';
export const PROVENANCE_PATH = 'provenance.json';
export const SIGNATURE_PATH = 'signatures/export.sig';
export const JWKS_PATH = 'signatures/jwks.json';
