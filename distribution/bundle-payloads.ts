import { readFile } from 'node:fs/promises';
import path from 'node:path';
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

// Trivy kinds go out as the artifact Trivy pulls, with the DB archive the trivy adapter
// wrote as the layer; every other kind as the generic bundle artifact.
export async function ociArtifactFor(
  bundle: PublishedBundle,
  options: { tag?: string; media?: OciMediaOverrides } = {},
): Promise<PackagedArtifact> {
  const created = bundle.finishedAt.toISOString().replace(/\.000Z$/, 'Z');
  if (bundle.profileKind in TRIVY_ARTIFACTS) {
    const kind = bundle.profileKind as TrivyArtifactKind;
    const archive = await trivyArchive(bundle, kind);

    return packageTrivyArtifact({ kind, created, archive, tag: options.tag });
  }

  return packageBundleArtifact({
    runId: bundle.runId,
    profileKind: bundle.profileKind,
    created,
    archive: { ...bundle.archive, name: `${bundle.runId}.tar.zst` },
    exportManifest: await readFile(path.join(bundle.bundleDir, MANIFEST_PATH)),
    media: options.media,
    tag: options.tag,
  });
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
