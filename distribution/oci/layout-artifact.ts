import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { OCI_INDEX_FILE } from '../../adapters/mirror/oci-layout.js';
import { StellaError } from '../../domain/errors.js';
import {
  OCI_INDEX_MEDIA_TYPE,
  OCI_MANIFEST_MEDIA_TYPE,
  sha256Digest,
  type ChildManifest,
  type PackagedArtifact,
} from './artifact.js';
import type { BlobSource } from './blob-upload.js';

const REF_NAME = 'org.opencontainers.image.ref.name';

interface LayoutDescriptor {
  mediaType: string;
  digest: string;
  size: number;
}

interface LayoutDocument {
  mediaType?: string;
  manifests?: LayoutDescriptor[];
  config?: LayoutDescriptor;
  layers?: LayoutDescriptor[];
}

// The bundle an OCI image layout (adapters/mirror/oci-layout.ts) holds under `tag`, as an
// artifact to push: a single manifest, or an image index whose manifests are pushed first
// by digest. Blobs stay files of the layout; every document read is checked against its
// digest, so what is pushed is byte for byte what the layout holds.
export async function artifactFromLayout(
  layoutDir: string,
  tag: string,
): Promise<PackagedArtifact> {
  const root = await taggedDescriptor(layoutDir, tag);
  const bytes = await readBlob(layoutDir, root);
  const document = { tag, mediaType: root.mediaType, manifest: bytes, manifestDigest: root.digest };
  if (root.mediaType === OCI_MANIFEST_MEDIA_TYPE) {
    return { ...document, blobs: blobsOf(layoutDir, parse(bytes)) };
  }
  if (root.mediaType !== OCI_INDEX_MEDIA_TYPE) {
    throw new StellaError('malformed_document', `OCI layout tag ${tag} is a ${root.mediaType}`);
  }

  const children: ChildManifest[] = [];
  for (const entry of parse(bytes).manifests ?? []) {
    children.push(await childManifest(layoutDir, entry));
  }

  return { ...document, blobs: [], children };
}

async function taggedDescriptor(layoutDir: string, tag: string): Promise<LayoutDescriptor> {
  const index = JSON.parse(await readFile(path.join(layoutDir, OCI_INDEX_FILE), 'utf8')) as {
    manifests?: (LayoutDescriptor & { annotations?: Record<string, string> })[];
  };
  const entry = (index.manifests ?? []).find((item) => item.annotations?.[REF_NAME] === tag);
  if (!entry) {
    throw new StellaError('not_found', `the OCI layout has no tag ${tag}`);
  }

  return entry;
}

// Sharded layouts are one level deep (oci-layout.ts): an index of image manifests.
async function childManifest(
  layoutDir: string,
  entry: LayoutDescriptor,
): Promise<ChildManifest> {
  if (entry.mediaType !== OCI_MANIFEST_MEDIA_TYPE) {
    throw new StellaError('malformed_document', `nested ${entry.mediaType} in an OCI index`);
  }
  const bytes = await readBlob(layoutDir, entry);

  return {
    mediaType: entry.mediaType,
    manifest: bytes,
    manifestDigest: entry.digest,
    blobs: blobsOf(layoutDir, parse(bytes)),
  };
}

function blobsOf(layoutDir: string, manifest: LayoutDocument): BlobSource[] {
  const descriptors = [...(manifest.config ? [manifest.config] : []), ...(manifest.layers ?? [])];

  return descriptors.map((d) => ({
    mediaType: d.mediaType,
    digest: d.digest,
    size: d.size,
    file: blobFile(layoutDir, d.digest),
  }));
}

async function readBlob(layoutDir: string, descriptor: LayoutDescriptor): Promise<Buffer> {
  const bytes = await readFile(blobFile(layoutDir, descriptor.digest));
  if (sha256Digest(bytes) !== descriptor.digest || bytes.byteLength !== descriptor.size) {
    throw new StellaError(
      'integrity_failed',
      `OCI layout blob ${descriptor.digest} does not match`,
    );
  }

  return bytes;
}

function blobFile(layoutDir: string, digest: string): string {
  const match = /^sha256:([a-f0-9]{64})$/.exec(digest);
  if (!match) {
    throw new StellaError('malformed_document', `not a sha256 digest: ${digest}`);
  }

  return path.join(layoutDir, 'blobs', 'sha256', match[1]);
}

function parse(bytes: Buffer): LayoutDocument {
  try {
    return JSON.parse(bytes.toString('utf8')) as LayoutDocument;
  } catch (err) {
    throw new StellaError('malformed_document', 'an OCI layout document is not JSON', {
      cause: err,
    });
  }
}
