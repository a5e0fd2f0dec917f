import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import { StellaError } from '../../domain/errors.js';
import { isTransient, TransientError } from '../retry.js';
import type { RegistryClient, RegistryRequest } from './registry-client.js';

// A blob to push: bytes in memory or a file, with its digest known beforehand.
export interface BlobSource {
  mediaType: string;
  digest: string; // sha256:<hex>
  size: number;
  bytes?: Buffer;
  file?: string;
}

export interface BlobUploadOptions {
  // Blobs up to this size go in one PUT; larger ones in PATCH chunks of `chunkSize`.
  monolithicLimit: number;
  chunkSize: number;
  mountFrom: string[];
  // The upload session an earlier, interrupted push of this blob left open.
  resumeLocation?: string;
  onProgress?: (progress: BlobProgress) => void;
}

export interface BlobProgress {
  digest: string;
  uploaded: number;
  size: number;
  // The session to resume from should this push be interrupted (chunked uploads only).
  location?: string;
}

export type BlobOutcome = 'present' | 'mounted' | 'uploaded';

// Uploads one blob unless the repository has it already (HEAD first), or mounts it from a
// sibling repository where the registry allows (OCI distribution spec, "Mounting a blob
// from another repository"). Chunked uploads resume from the offset the registry reports.
export async function pushBlob(
  client: RegistryClient,
  blob: BlobSource,
  options: BlobUploadOptions,
): Promise<BlobOutcome> {
  if (await hasBlob(client, blob.digest)) {
    return 'present';
  }

  if (blob.size > options.monolithicLimit && options.resumeLocation) {
    await putChunked(client, await recoverSession(client, options.resumeLocation), blob, options);

    return 'uploaded';
  }
  const session = await openSession(client, blob.digest, options.mountFrom);
  if (session.mounted) {
    return 'mounted';
  }
  if (blob.size <= options.monolithicLimit) {
    await putMonolithic(client, session.location, blob);
  } else {
    await putChunked(client, { location: session.location, offset: 0 }, blob, options);
  }

  return 'uploaded';
}

export async function hasBlob(client: RegistryClient, digest: string): Promise<boolean> {
  const response = await client.send({
    method: 'HEAD',
    url: client.repoUrl(`blobs/${digest}`),
    expect: [200, 404],
  });
  await response.body?.cancel();

  return response.status === 200;
}

interface UploadSession {
  mounted: boolean;
  location: string;
}

async function openSession(
  client: RegistryClient,
  digest: string,
  mountFrom: string[],
): Promise<UploadSession> {
  const sources = mountFrom.filter((repo) => repo !== client.repository);
  for (const [index, source] of sources.entries()) {
    const query = new URLSearchParams({ mount: digest, from: source });
    const session = await startUpload(client, `blobs/uploads/?${query}`);
    // 202: the registry could not mount and opened an ordinary upload instead. The last
    // one is kept for the upload; the others are closed so that none is left dangling.
    if (session.mounted || index === sources.length - 1) {
      return session;
    }
    await cancelUpload(client, session.location);
  }

  return startUpload(client, 'blobs/uploads/');
}

async function cancelUpload(client: RegistryClient, location: string) {
  const response = await client.send({ method: 'DELETE', url: location, expect: [204, 404] });
  await response.body?.cancel();
}

async function startUpload(client: RegistryClient, suffix: string): Promise<UploadSession> {
  const response = await client.send({
    method: 'POST',
    url: client.repoUrl(suffix),
    expect: [201, 202],
  });
  await response.body?.cancel();
  if (response.status === 201) {
    return { mounted: true, location: '' };
  }

  return { mounted: false, location: requireLocation(client, response) };
}

async function putMonolithic(client: RegistryClient, location: string, blob: BlobSource) {
  await completeUpload(client, blob.digest, {
    method: 'PUT',
    url: withDigest(client.resolve(location), blob.digest),
    headers: { 'content-type': 'application/octet-stream', 'content-length': String(blob.size) },
    body: () => blob.bytes ?? openRange(blob, 0, blob.size),
    expect: [201],
  });
}

// PATCH chunks with Content-Range, then PUT ?digest=. When a chunk fails after the client's
// own retries, the registry is asked where the upload stands (GET on the session) and the
// upload goes on from there; a session the registry forgot is started over.
async function putChunked(
  client: RegistryClient,
  start: { location: string; offset: number },
  blob: BlobSource,
  options: BlobUploadOptions,
) {
  let { location, offset } = start;
  for (let recoveries = 0; offset < blob.size; ) {
    try {
      ({ location, offset } = await patchChunk(client, location, blob, offset, options.chunkSize));
      options.onProgress?.({ digest: blob.digest, uploaded: offset, size: blob.size, location });
    } catch (err) {
      if (!isTransient(err) || ++recoveries > 5) {
        throw err;
      }
      ({ location, offset } = await recoverSession(client, location));
    }
  }

  await completeUpload(client, blob.digest, {
    method: 'PUT',
    url: withDigest(client.resolve(location), blob.digest),
    headers: { 'content-length': '0' },
    expect: [201],
  });
}

// A PUT whose answer was lost is retried on a session the registry has closed (404); the
// blob being there then means the first PUT did land.
async function completeUpload(client: RegistryClient, digest: string, request: RegistryRequest) {
  try {
    const response = await client.send(request);
    await response.body?.cancel();
  } catch (err) {
    if (
      !(err instanceof StellaError && err.code === 'not_found' && (await hasBlob(client, digest)))
    ) {
      throw err;
    }
  }
}

async function patchChunk(
  client: RegistryClient,
  location: string,
  blob: BlobSource,
  offset: number,
  chunkSize: number,
) {
  const end = Math.min(offset + chunkSize, blob.size);
  const response = await client.send({
    method: 'PATCH',
    url: client.resolve(location),
    headers: {
      'content-type': 'application/octet-stream',
      'content-range': `${offset}-${end - 1}`,
      'content-length': String(end - offset),
    },
    body: () => (blob.bytes ? blob.bytes.subarray(offset, end) : openRange(blob, offset, end)),
    expect: [202, 416],
  });
  await response.body?.cancel();
  if (response.status === 416) {
    // The registry holds a different amount than we assumed: ask it and go on from there.
    throw new TransientError(`registry refused chunk ${offset}-${end - 1} (416)`);
  }

  return { location: requireLocation(client, response), offset: end };
}

async function recoverSession(client: RegistryClient, location: string) {
  const status = await client
    .send({ method: 'GET', url: client.resolve(location), expect: [204] })
    .catch((err: unknown) => (err instanceof StellaError ? undefined : Promise.reject(err)));
  if (!status) {
    const fresh = await startUpload(client, 'blobs/uploads/');

    return { location: fresh.location, offset: 0 };
  }
  await status.body?.cancel();

  return {
    location: requireLocation(client, status),
    offset: uploadedBytes(status.headers.get('range')),
  };
}

// `Range: 0-<last byte>` as the distribution spec writes it; no header means nothing yet.
function uploadedBytes(range: string | null): number {
  const match = range ? /^(?:bytes=)?0-(\d+)$/.exec(range.trim()) : null;

  return match ? Number(match[1]) + 1 : 0;
}

function openRange(blob: BlobSource, start: number, end: number): Readable {
  if (!blob.file) {
    throw new StellaError('internal', `blob ${blob.digest} has neither bytes nor a file`);
  }

  return createReadStream(blob.file, { start, end: end - 1, highWaterMark: 1 << 20 });
}

function withDigest(location: string, digest: string): string {
  const url = new URL(location);
  url.searchParams.set('digest', digest);

  return url.toString();
}

function requireLocation(client: RegistryClient, response: Response): string {
  const location = response.headers.get('location');
  if (!location) {
    throw new StellaError('export_failed', 'registry opened an upload without a Location');
  }

  return client.resolve(location);
}
