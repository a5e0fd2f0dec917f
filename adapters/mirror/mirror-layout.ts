import type { WithheldDocument } from '../../bundle/manifest.js';
import { MIRROR_KINDS, VEX_KEY_SEPARATOR, type MirrorKind } from '../../domain/mirror-kinds.js';

// The folder layout of a mirror bundle, shared by the adapters that write it and the mirror
// reader that imports it. docs/mirror-bundles.md describes it for people.

export const MIRROR_SCHEMA = 'stella.mirror/v1';
export const INDEX_SCHEMA = 'stella.mirror-index/v1';
export const INDEX_PATCH_SCHEMA = 'stella.mirror-index-patch/v1';
export const GRAPH_SCHEMA = 'stella.sbom-graph/v1';

export const MIRROR_MANIFEST_PATH = 'manifest.yaml';
export const MIRROR_README_PATH = 'README.md';
export const MANIFEST_SIGNATURE_PATH = 'signatures/manifest.sig';

export const JSONL_ZST = 'application/x-ndjson+zstd';
export const YAML = 'application/yaml';
export const MARKDOWN = 'text/markdown';

// The record kinds a mirror carries, each in its own top-level folder (domain/mirror-kinds.ts).
export { MIRROR_KINDS, VEX_KEY_SEPARATOR, type MirrorKind };

export const INDEX_PATHS: Record<MirrorKind, string> = {
  advisories: 'indexes/advisories.index.json',
  vex: 'indexes/vex.index.json',
  sboms: 'indexes/sbom.index.json',
};

// Normalized records are split into parts so that no single file grows without bound; a
// slot (all records of one advisory id, one vulnerability × product, one SBOM subject)
// never spans two parts.
export const DEFAULT_PART_RECORDS = 250_000;

export function normalizedPartPath(kind: MirrorKind, part: number): string {
  return `${kind}/normalized/${kind}-${String(part).padStart(4, '0')}.jsonl.zst`;
}

// The content types a mirror is sharded by when it travels as an OCI layout (oci-layout.ts):
// each kind's folder, and `meta` for everything else (manifests, indexes, tombstones,
// signatures, sections).
export const MIRROR_SHARD_GROUPS = ['meta', ...MIRROR_KINDS] as const;
export type MirrorShardGroup = (typeof MIRROR_SHARD_GROUPS)[number];

export function mirrorShardGroupOf(relative: string): MirrorShardGroup {
  const top = relative.split('/')[0];

  return (MIRROR_KINDS as readonly string[]).includes(top) ? (top as MirrorKind) : 'meta';
}

// manifest.yaml's `sharding`: how the bundle is split, for a reader that fetches or reads
// only some of it. Normalized records are in numbered parts of whole slots (each kind's
// `content.<kind>.parts`); an OCI layout of the bundle past its shard size holds one
// manifest per group, annotated `com.stella.mirror.shard`.
export interface MirrorSharding {
  normalized: 'parts_of_whole_slots';
  oci_shard_by: 'content_type';
  oci_groups: MirrorShardGroup[];
}

export const MIRROR_SHARDING: MirrorSharding = {
  normalized: 'parts_of_whole_slots',
  oci_shard_by: 'content_type',
  oci_groups: [...MIRROR_SHARD_GROUPS],
};

// What a delta removes: slots of each kind, and raw documents no longer used.
export type TombstoneKind = MirrorKind | 'documents';

export function tombstonePath(kind: TombstoneKind): string {
  return `tombstones/${kind}.jsonl.zst`;
}

export function sbomGraphPath(documentSha256: string): string {
  return `sboms/graph/${documentSha256}.json`;
}

// Raw documents are stored once per hash, under the folder of the first kind that uses
// them, fanned out by the hash's first two digits.
export function rawDocumentPath(kind: MirrorKind, sha256: string, mediaType: string): string {
  return `${kind}/raw/${sha256.slice(0, 2)}/${sha256}.${extensionFor(mediaType)}`;
}

function extensionFor(mediaType: string): string {
  if (mediaType.includes('yaml')) {
    return 'yaml';
  }

  return mediaType.includes('json') ? 'json' : 'bin';
}

export function vexSlotKey(vulnerability: string, product: string): string {
  return `${vulnerability}${VEX_KEY_SEPARATOR}${product}`;
}

export function splitVexSlotKey(key: string): { vulnerability: string; product: string } {
  const at = key.indexOf(VEX_KEY_SEPARATOR);

  return { vulnerability: key.slice(0, at), product: key.slice(at + 1) };
}

export interface MirrorPartInfo {
  path: string;
  records: number;
  slots: number;
}

export interface MirrorKindSummary {
  records: number;
  slots: number;
  parts: MirrorPartInfo[];
  index: string;
  tombstones?: { path: string; slots: number };
  changes?: { added: number; changed: number; removed: number };
}

// manifest.yaml: what an importer reads first. It holds no run id and no clock time, so the
// same evidence and filters give the same bytes; export.json carries both.
export interface MirrorManifest {
  schema: typeof MIRROR_SCHEMA;
  kind: 'full' | 'delta';
  profile: { id: string; kind: string };
  filters: Record<string, unknown>;
  base_export_id?: string;
  base_manifest_sha256?: string;
  counts: Record<string, number>;
  content: Record<MirrorKind, MirrorKindSummary>;
  raw_documents: { count: number; new_in_this_bundle?: number };
  state_digest?: Record<MirrorKind, string>;
  sections: string[];
  // Absent from bundles written before sharding was recorded.
  sharding?: MirrorSharding;
  // Raw documents of this bundle that the raw-document screen kept out (redaction/): the
  // normalized records still name them by documentSha256; their bytes are not here. Always
  // written; bundles from before the screen have none.
  withheld?: WithheldDocument[];
  readme: string;
}
