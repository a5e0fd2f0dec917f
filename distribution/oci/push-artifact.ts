import { StellaError } from '../../domain/errors.js';
import type { RetryOptions } from '../retry.js';
import {
  OCI_MANIFEST_MEDIA_TYPE,
  sha256Digest,
  type ChildManifest,
  type PackagedArtifact,
} from './artifact.js';
import {
  pushBlob,
  type BlobOutcome,
  type BlobProgress,
  type BlobSource,
  type BlobUploadOptions,
} from './blob-upload.js';
import type { RegistryCredentials } from './registry-auth.js';
import { RegistryClient } from './registry-client.js';
import { formatOciReference, type OciReference } from './reference.js';

export interface OciPushOptions {
  reference: OciReference; // the tag here wins over the artifact's default tag
  artifact: PackagedArtifact;
  credentials?: RegistryCredentials;
  mountFrom?: string[];
  plainHttpHosts?: string[];
  monolithicLimit?: number;
  chunkSize?: number;
  retry?: RetryOptions;
  fetch?: typeof fetch;
  // Upload sessions (by blob digest) that an interrupted push reported through onProgress:
  // a new attempt goes on from where the registry has the bytes up to.
  resumeUploads?: Record<string, string>;
  onProgress?: (progress: OciPushProgress) => void;
}

export type OciPushProgress = BlobProgress;

export interface OciPushResult {
  reference: string; // host/repo:tag@digest
  tag: string;
  mediaType: string; // image manifest, or image index for a sharded bundle
  manifestDigest: string;
  manifestSize: number;
  // For an image index: the manifests it names, each pushed by digest.
  manifests?: { digest: string; size: number; mediaType: string }[];
  blobs: { digest: string; size: number; mediaType: string; outcome: BlobOutcome }[];
}

export const DEFAULT_MONOLITHIC_LIMIT = 32 * 1024 * 1024;
export const DEFAULT_CHUNK_SIZE = 64 * 1024 * 1024;

// Pushes blobs (each at most once), then the manifests an index names (by digest), then
// the top manifest or index under the tag, then pulls it back by tag and checks its
// digest: what the registry now serves is what we built.
export async function pushArtifact(options: OciPushOptions): Promise<OciPushResult> {
  const { artifact } = options;
  const tag = options.reference.tag ?? artifact.tag;
  const client = new RegistryClient({ ...options, reference: { ...options.reference, tag } });
  await client.authenticate();

  const blobs = new Map<string, OciPushResult['blobs'][number]>();
  for (const child of artifact.children ?? []) {
    await pushBlobs(client, child.blobs, options, blobs);
    await putManifest(client, child.manifestDigest, child);
  }
  await pushBlobs(client, artifact.blobs, options, blobs);
  await putManifest(client, tag, artifact);
  await verifyPulledManifest(client, tag, artifact);

  return {
    reference: `${formatOciReference({ ...options.reference, tag, digest: undefined })}@${
      artifact.manifestDigest
    }`,
    tag,
    mediaType: mediaTypeOf(artifact),
    manifestDigest: artifact.manifestDigest,
    manifestSize: artifact.manifest.byteLength,
    ...(artifact.children ? { manifests: artifact.children.map(childDescriptor) } : {}),
    blobs: [...blobs.values()],
  };
}

// A blob several manifests share (the empty config of every shard) is pushed once.
async function pushBlobs(
  client: RegistryClient,
  sources: BlobSource[],
  options: OciPushOptions,
  done: Map<string, OciPushResult['blobs'][number]>,
) {
  for (const blob of sources) {
    if (done.has(blob.digest)) {
      continue;
    }
    const outcome = await pushBlob(client, blob, blobOptions(options, blob.digest));
    options.onProgress?.({ digest: blob.digest, uploaded: blob.size, size: blob.size });
    const { digest, size, mediaType } = blob;
    done.set(digest, { digest, size, mediaType, outcome });
  }
}

function childDescriptor(child: ChildManifest) {
  return {
    digest: child.manifestDigest,
    size: child.manifest.byteLength,
    mediaType: child.mediaType,
  };
}

function mediaTypeOf(document: { mediaType?: string }): string {
  return document.mediaType ?? OCI_MANIFEST_MEDIA_TYPE;
}

function blobOptions(options: OciPushOptions, digest: string): BlobUploadOptions {
  return {
    monolithicLimit: options.monolithicLimit ?? DEFAULT_MONOLITHIC_LIMIT,
    chunkSize: options.chunkSize ?? DEFAULT_CHUNK_SIZE,
    mountFrom: options.mountFrom ?? [],
    resumeLocation: options.resumeUploads?.[digest],
    onProgress: options.onProgress,
  };
}

// A reference (tag or digest) already naming this digest is left alone, so a retried push
// writes nothing.
async function putManifest(client: RegistryClient, reference: string, document: PushedDocument) {
  const mediaType = mediaTypeOf(document);
  const head = await client.send({
    method: 'HEAD',
    url: client.repoUrl(`manifests/${reference}`),
    headers: { accept: mediaType },
    expect: [200, 404],
  });
  await head.body?.cancel();
  if (
    head.status === 200 &&
    head.headers.get('docker-content-digest') === document.manifestDigest
  ) {
    return;
  }

  const put = await client.send({
    method: 'PUT',
    url: client.repoUrl(`manifests/${reference}`),
    headers: { 'content-type': mediaType },
    body: () => document.manifest,
    expect: [201],
  });
  await put.body?.cancel();
}

type PushedDocument = Pick<PackagedArtifact, 'mediaType' | 'manifest' | 'manifestDigest'>;

async function verifyPulledManifest(client: RegistryClient, tag: string, pushed: PushedDocument) {
  const response = await client.send({
    method: 'GET',
    url: client.repoUrl(`manifests/${tag}`),
    headers: { accept: mediaTypeOf(pushed) },
    expect: [200],
  });
  const expected = pushed.manifestDigest;
  const pulled = sha256Digest(Buffer.from(await response.arrayBuffer()));
  if (pulled !== expected) {
    throw new StellaError(
      'integrity_failed',
      `registry serves ${tag} as ${pulled}, pushed ${expected}`,
      {
        details: { expected, pulled },
      },
    );
  }
}
