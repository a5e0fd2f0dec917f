import { createHash } from 'node:crypto';
import { StellaError } from '../../domain/errors.js';
import type { BlobSource } from './blob-upload.js';

export const OCI_MANIFEST_MEDIA_TYPE = 'application/vnd.oci.image.manifest.v1+json';
export const OCI_INDEX_MEDIA_TYPE = 'application/vnd.oci.image.index.v1+json';
export const OCI_EMPTY_MEDIA_TYPE = 'application/vnd.oci.empty.v1+json';
const TITLE = 'org.opencontainers.image.title';
const CREATED = 'org.opencontainers.image.created';

// Media types of a Stella bundle pushed as an OCI artifact; a profile may override each one
// in its config under `distribution.oci`.
export const BUNDLE_MEDIA_TYPES = {
  artifactType: 'application/vnd.stella.export.bundle.v1',
  layer: 'application/vnd.stella.export.bundle.v1.tar+zstd',
  config: 'application/vnd.stella.export.manifest.v1+json',
} as const;

// What Trivy pulls (docs/formats/trivy-db.md sections 11.4 and 12): one layer with this media
// type and file-name title, an empty config, and the schema version as the default tag.
export const TRIVY_ARTIFACTS = {
  'trivy:db': {
    layer: 'application/vnd.aquasec.trivy.db.layer.v1.tar+gzip',
    title: 'db.tar.gz',
    defaultTag: '2',
  },
  'trivy:java-db': {
    layer: 'application/vnd.aquasec.trivy.javadb.layer.v1.tar+gzip',
    title: 'javadb.tar.gz',
    defaultTag: '1',
  },
} as const;
export const TRIVY_ARTIFACT_TYPE = 'application/vnd.aquasec.trivy.config.v1+json';

export type TrivyArtifactKind = keyof typeof TRIVY_ARTIFACTS;

export interface OciMediaOverrides {
  artifactType?: string;
  layerMediaType?: string;
  configMediaType?: string;
  annotations?: Record<string, string>;
}

export interface FileBlob {
  file: string;
  sha256: string; // hex
  size: number;
}

export interface PackagedArtifact {
  tag: string;
  mediaType?: string; // the image manifest's, unless an image index
  manifest: Buffer;
  manifestDigest: string;
  blobs: BlobSource[]; // config first, then layers
  // The manifests an image index names (a sharded bundle), pushed by digest before it.
  children?: ChildManifest[];
}

export interface ChildManifest {
  mediaType: string;
  manifest: Buffer;
  manifestDigest: string;
  blobs: BlobSource[];
}

export interface BundleArtifactInput {
  runId: string;
  profileKind: string;
  created: string; // RFC 3339; fixed per run so that a re-push gives the same digest
  archive: FileBlob & { name: string };
  exportManifest: Buffer; // export.json, the config blob
  media?: OciMediaOverrides;
  tag?: string;
}

// The generic artifact: the bundle's .tar.zst as the single layer and export.json as the
// config, so `oras pull` yields the archive and a registry UI shows what the bundle holds.
export function packageBundleArtifact(input: BundleArtifactInput): PackagedArtifact {
  const media = input.media ?? {};
  const config = bytesBlob(
    media.configMediaType ?? BUNDLE_MEDIA_TYPES.config,
    input.exportManifest,
  );
  const layer = fileBlob(media.layerMediaType ?? BUNDLE_MEDIA_TYPES.layer, input.archive);
  const annotations = {
    [CREATED]: input.created,
    'io.stella.export.run-id': input.runId,
    'io.stella.export.profile-kind': input.profileKind,
    ...media.annotations,
  };

  return assemble({
    tag: input.tag ?? input.runId,
    artifactType: media.artifactType ?? BUNDLE_MEDIA_TYPES.artifactType,
    config,
    layers: [{ blob: layer, title: input.archive.name }],
    annotations,
  });
}

export interface TrivyArtifactInput {
  kind: TrivyArtifactKind;
  created: string;
  archive: FileBlob;
  tag?: string;
}

export function packageTrivyArtifact(input: TrivyArtifactInput): PackagedArtifact {
  const spec = TRIVY_ARTIFACTS[input.kind];

  return assemble({
    tag: input.tag ?? spec.defaultTag,
    artifactType: TRIVY_ARTIFACT_TYPE,
    config: bytesBlob(OCI_EMPTY_MEDIA_TYPE, Buffer.from('{}')),
    layers: [{ blob: fileBlob(spec.layer, input.archive), title: spec.title }],
    annotations: { [CREATED]: input.created },
  });
}

interface ManifestParts {
  tag: string;
  artifactType: string;
  config: BlobSource;
  layers: { blob: BlobSource; title: string }[];
  annotations: Record<string, string>;
}

// Keys in a fixed order, so equal inputs give equal manifest bytes and digests.
function assemble(parts: ManifestParts): PackagedArtifact {
  const manifest = {
    schemaVersion: 2,
    mediaType: OCI_MANIFEST_MEDIA_TYPE,
    artifactType: parts.artifactType,
    config: descriptor(parts.config),
    layers: parts.layers.map(({ blob, title }) => ({
      ...descriptor(blob),
      annotations: { [TITLE]: title },
    })),
    annotations: sortedRecord(parts.annotations),
  };
  const bytes = Buffer.from(JSON.stringify(manifest), 'utf8');

  return {
    tag: parts.tag,
    manifest: bytes,
    manifestDigest: sha256Digest(bytes),
    blobs: [parts.config, ...parts.layers.map((layer) => layer.blob)],
  };
}

function descriptor(blob: BlobSource) {
  return { mediaType: blob.mediaType, digest: blob.digest, size: blob.size };
}

function bytesBlob(mediaType: string, bytes: Buffer): BlobSource {
  return { mediaType, digest: sha256Digest(bytes), size: bytes.byteLength, bytes };
}

function fileBlob(mediaType: string, file: FileBlob): BlobSource {
  if (!/^[a-f0-9]{64}$/.test(file.sha256)) {
    throw new StellaError('internal', `not a sha256 hex digest: ${file.sha256}`);
  }

  return { mediaType, digest: `sha256:${file.sha256}`, size: file.size, file: file.file };
}

export function sha256Digest(bytes: Buffer): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

function sortedRecord(record: Record<string, string>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(record).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
  );
}
