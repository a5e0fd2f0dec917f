import { StellaError } from '../../domain/errors.js';
import type { RetryOptions } from '../retry.js';
import { OCI_MANIFEST_MEDIA_TYPE, sha256Digest, type PackagedArtifact } from './artifact.js';
import {
  pushBlob,
  type BlobOutcome,
  type BlobProgress,
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
  manifestDigest: string;
  manifestSize: number;
  blobs: { digest: string; size: number; mediaType: string; outcome: BlobOutcome }[];
}

export const DEFAULT_MONOLITHIC_LIMIT = 32 * 1024 * 1024;
export const DEFAULT_CHUNK_SIZE = 64 * 1024 * 1024;

// Pushes blobs (each at most once), then the manifest under the tag, then pulls the
// manifest back by tag and checks its digest: what the registry now serves is what we built.
export async function pushArtifact(options: OciPushOptions): Promise<OciPushResult> {
  const tag = options.reference.tag ?? options.artifact.tag;
  const client = new RegistryClient({ ...options, reference: { ...options.reference, tag } });
  await client.authenticate();

  const blobs = [];
  for (const blob of options.artifact.blobs) {
    const outcome = await pushBlob(client, blob, blobOptions(options, blob.digest));
    options.onProgress?.({ digest: blob.digest, uploaded: blob.size, size: blob.size });
    blobs.push({ digest: blob.digest, size: blob.size, mediaType: blob.mediaType, outcome });
  }
  await putManifest(client, tag, options.artifact);
  await verifyPulledManifest(client, tag, options.artifact.manifestDigest);

  return {
    reference: `${formatOciReference({ ...options.reference, tag, digest: undefined })}@${
      options.artifact.manifestDigest
    }`,
    tag,
    manifestDigest: options.artifact.manifestDigest,
    manifestSize: options.artifact.manifest.byteLength,
    blobs,
  };
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

// A tag already pointing at this digest is left alone, so a retried push writes nothing.
async function putManifest(client: RegistryClient, tag: string, artifact: PackagedArtifact) {
  const head = await client.send({
    method: 'HEAD',
    url: client.repoUrl(`manifests/${tag}`),
    headers: { accept: OCI_MANIFEST_MEDIA_TYPE },
    expect: [200, 404],
  });
  await head.body?.cancel();
  if (
    head.status === 200 &&
    head.headers.get('docker-content-digest') === artifact.manifestDigest
  ) {
    return;
  }

  const put = await client.send({
    method: 'PUT',
    url: client.repoUrl(`manifests/${tag}`),
    headers: { 'content-type': OCI_MANIFEST_MEDIA_TYPE },
    body: () => artifact.manifest,
    expect: [201],
  });
  await put.body?.cancel();
}

async function verifyPulledManifest(client: RegistryClient, tag: string, expected: string) {
  const response = await client.send({
    method: 'GET',
    url: client.repoUrl(`manifests/${tag}`),
    headers: { accept: OCI_MANIFEST_MEDIA_TYPE },
    expect: [200],
  });
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
