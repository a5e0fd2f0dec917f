import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { DEFAULT_SHARD_BYTES, writeOciLayout } from '../adapters/mirror/oci-layout.js';
import { canonicalJson } from '../bundle/canonical-json.js';
import { digestIfExists } from '../bundle/files.js';
import {
  JWKS_PATH,
  MANIFEST_PATH,
  PROVENANCE_PATH,
  SIGNATURE_PATH,
  type ExportManifest,
} from '../bundle/manifest.js';
import { StellaError } from '../domain/errors.js';
import { sha256Hex } from './checksums.js';
import type { ObjectSource } from './objstore/upload-objects.js';
import {
  packageBundleArtifact,
  packageTrivyArtifact,
  TRIVY_ARTIFACTS,
  type OciMediaOverrides,
  type PackagedArtifact,
  type TrivyArtifactKind,
} from './oci/artifact.js';
import { artifactFromLayout } from './oci/layout-artifact.js';

// A published bundle as the distribution engines see it: the unpacked folder and its
// .tar.zst, both already final (bundle-paths.ts), with the hashes recorded at publication.
export interface PublishedBundle {
  runId: string;
  profileKind: string;
  bundleDir: string;
  archive: { file: string; sha256: string; size: number };
  manifestSha256: string;
  finishedAt: Date;
}

export const MARKER_NAME = '_SUCCESS';
export const MARKER_SCHEMA = 'stella.distribution-marker/v1';

export interface OciArtifactOptions {
  tag?: string;
  media?: OciMediaOverrides;
  // Bundles whose files add up to more than this go out sharded (below).
  shardBytes?: number;
  // An empty folder the OCI layout may be written to; the caller removes it. Without it
  // every non-Trivy bundle goes out as the generic artifact.
  layoutDir?: string;
}

// Trivy kinds go out as the artifact Trivy pulls, with the DB archive the trivy adapter
// wrote as the layer. Mirror kinds, and any other bundle larger than the shard size, go
// out as the bundle's OCI image layout exactly as `stella mirror oci` writes it
// (adapters/mirror/oci-layout.ts): one manifest, or one per shard under an image index.
// Every other kind goes out as the generic artifact around its .tar.zst.
export async function ociArtifactFor(
  bundle: PublishedBundle,
  options: OciArtifactOptions = {},
): Promise<PackagedArtifact> {
  const created = bundle.finishedAt.toISOString().replace(/\.000Z$/, 'Z');
  if (bundle.profileKind in TRIVY_ARTIFACTS) {
    const kind = bundle.profileKind as TrivyArtifactKind;
    const archive = await trivyArchive(bundle, kind);

    return packageTrivyArtifact({ kind, created, archive, tag: options.tag });
  }
  const exportManifest = await readFile(path.join(bundle.bundleDir, MANIFEST_PATH));
  const asLayout =
    bundle.profileKind.startsWith('mirror:') || needsShards(exportManifest, options.shardBytes);
  if (options.layoutDir && asLayout) {
    return layoutArtifact(bundle, options.layoutDir, options);
  }

  return packageBundleArtifact({
    runId: bundle.runId,
    profileKind: bundle.profileKind,
    created,
    archive: { ...bundle.archive, name: `${bundle.runId}.tar.zst` },
    exportManifest,
    media: options.media,
    tag: options.tag,
  });
}

function needsShards(exportManifest: Buffer, shardBytes = DEFAULT_SHARD_BYTES): boolean {
  const { files } = JSON.parse(exportManifest.toString('utf8')) as ExportManifest;

  return files.reduce((sum, file) => sum + file.size, 0) > shardBytes;
}

// Profile media-type overrides do not apply here: the layout carries each file's own media
// type from export.json, so that the layout and the registry hold the same manifests.
async function layoutArtifact(
  bundle: PublishedBundle,
  layoutDir: string,
  options: OciArtifactOptions,
): Promise<PackagedArtifact> {
  const tag = options.tag ?? bundle.runId;
  await writeOciLayout(bundle.bundleDir, layoutDir, { tag, shardBytes: options.shardBytes });

  return artifactFromLayout(layoutDir, tag);
}

// The DB archive is the bundle file carrying Trivy's layer media type (the trivy adapter
// stores it as trivy/db.bundle or trivy/java-db.bundle), found through export.json so that
// its hash is the one the signed manifest vouches for.
async function trivyArchive(bundle: PublishedBundle, kind: TrivyArtifactKind) {
  const manifest = JSON.parse(
    await readFile(path.join(bundle.bundleDir, MANIFEST_PATH), 'utf8'),
  ) as ExportManifest;
  const spec = TRIVY_ARTIFACTS[kind];
  const entry = manifest.files.find((file) => file.mediaType === spec.layer);
  if (!entry) {
    throw new StellaError(
      'unsupported_profile',
      `bundle ${bundle.runId} (${kind}) has no file of type ${spec.layer}`,
    );
  }

  return { file: path.join(bundle.bundleDir, entry.path), sha256: entry.sha256, size: entry.size };
}

const SIDE_FILES: { name: string; contentType: string }[] = [
  { name: MANIFEST_PATH, contentType: 'application/json' },
  { name: PROVENANCE_PATH, contentType: 'application/json' },
  { name: SIGNATURE_PATH, contentType: 'application/jose' },
  { name: JWKS_PATH, contentType: 'application/jwk-set+json' },
];

// The archive, then export.json, provenance.json and the signatures, then a marker that
// lists them all. The marker holds no timestamp: a repeated upload writes the same bytes.
export async function objectsFor(
  bundle: PublishedBundle,
): Promise<{ objects: ObjectSource[]; marker: ObjectSource }> {
  const objects: ObjectSource[] = [
    { name: `${bundle.runId}.tar.zst`, contentType: 'application/zstd', ...bundle.archive },
  ];
  for (const side of SIDE_FILES) {
    const file = path.join(bundle.bundleDir, side.name);
    const digest = await digestIfExists(file);
    if (digest) {
      objects.push({ name: side.name, contentType: side.contentType, file, ...digest });
    }
  }

  return { objects, marker: markerFor(bundle, objects) };
}

function markerFor(bundle: PublishedBundle, objects: ObjectSource[]): ObjectSource {
  const body = {
    schema: MARKER_SCHEMA,
    runId: bundle.runId,
    profileKind: bundle.profileKind,
    manifestSha256: bundle.manifestSha256,
    objects: objects.map((object) => ({
      name: object.name,
      sha256: object.sha256,
      size: object.size,
    })),
  };
  const bytes = Buffer.from(canonicalJson(body) + '\n', 'utf8');

  return {
    name: MARKER_NAME,
    contentType: 'application/json',
    bytes,
    sha256: sha256Hex(bytes),
    size: bytes.byteLength,
  };
}
