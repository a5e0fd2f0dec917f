import { createWriteStream } from 'node:fs';
import { mkdir, rename, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import type { ReadableStream } from 'node:stream/web';
import { pipeline } from 'node:stream/promises';
import type { PresignedDownloadView } from '../api/routes/presigned-download.js';
import { digestFile } from '../bundle/files.js';
import { StellaError, type ErrorClass } from '../domain/errors.js';
import type { ApiClient } from './api-client.js';

export interface DownloadOptions {
  // Ask the API for a presigned S3 URL and fetch the bytes from the bucket instead.
  presigned?: boolean;
  expiresIn?: number; // seconds the presigned URL stays valid
}

export interface DownloadResult {
  path: string;
  sha256: string;
  size: number;
  resumedFrom: number;
  source: 'api' | 'presigned';
}

// Where the bytes come from: the API itself, or a bucket through a presigned URL. Either
// way the expected sha256 comes from the API, never from the server sending the bytes.
interface BundleSource {
  kind: DownloadResult['source'];
  sha256: string;
  size: number;
  ifRange?: string;
  get(headers: Record<string, string>): Promise<Response>;
}

// Downloads a run's bundle to `<out>.partial`, resuming from what is already there with a
// range request, then checks the whole file's hash and renames it into place. A mismatch
// leaves nothing under the final name.
export async function downloadBundle(
  api: ApiClient,
  runId: string,
  out: string,
  options: DownloadOptions = {},
): Promise<DownloadResult> {
  const partial = `${out}.partial`;
  await mkdir(path.dirname(path.resolve(out)), { recursive: true });
  const source = options.presigned
    ? await presignedSource(api, runId, options.expiresIn)
    : await apiSource(api, runId);
  const { resumedFrom } = await fetchInto(partial, source);
  const digest = await checkHash(partial, source.sha256);
  await rename(partial, out);

  return { path: out, ...digest, resumedFrom, source: source.kind };
}

async function apiSource(api: ApiClient, runId: string): Promise<BundleSource> {
  const url = `/export/runs/${encodeURIComponent(runId)}/download`;
  const head = await api.request('HEAD', url);
  const etag = head.headers.get('etag') ?? '';

  return {
    kind: 'api',
    sha256: etag.replace(/"/g, ''),
    size: Number(head.headers.get('content-length') ?? 0),
    ifRange: etag,
    get: (headers) => api.request('GET', url, { headers }),
  };
}

// The bucket's ETag is not our sha256, so a resumed request carries no If-Range: a bundle
// object replaced between two attempts shows up in the final hash check instead.
async function presignedSource(
  api: ApiClient,
  runId: string,
  expiresIn: number | undefined,
): Promise<BundleSource> {
  const query = `mode=presigned${expiresIn ? `&expiresIn=${expiresIn}` : ''}`;
  const view = await api.json<PresignedDownloadView>(
    'GET',
    `/export/runs/${encodeURIComponent(runId)}/download?${query}`,
  );

  return {
    kind: 'presigned',
    sha256: view.sha256,
    size: view.size,
    get: (headers) => fetchPresigned(view, headers),
  };
}

async function fetchPresigned(
  view: PresignedDownloadView,
  headers: Record<string, string>,
): Promise<Response> {
  const where = `s3://${view.bucket}/${view.key}`;
  const response = await fetch(view.url, { headers }).catch((err: unknown) => {
    throw new StellaError('unavailable', `cannot reach the bucket for ${where}`, { cause: err });
  });
  if (response.ok) {
    return response;
  }

  const text = (await response.text().catch(() => '')).slice(0, 300);
  const byStatus: Record<number, ErrorClass> = { 403: 'denied', 404: 'not_found' };
  const message = `the bucket refused ${where}: HTTP ${response.status} ${text}`;
  throw new StellaError(byStatus[response.status] ?? 'unavailable', message);
}

// A partial as long as the bundle (or longer) cannot be resumed: it is started over.
async function fetchInto(partial: string, source: BundleSource) {
  const have = await stat(partial).then((s) => s.size, () => 0);
  const resumeFrom = have > 0 && have < source.size ? have : 0;
  const headers: Record<string, string> = {};
  if (resumeFrom > 0) {
    headers.range = `bytes=${resumeFrom}-`;
    Object.assign(headers, source.ifRange ? { 'if-range': source.ifRange } : {});
  }
  const response = await source.get(headers);
  const resumed = response.status === 206;
  await pipeline(
    Readable.fromWeb(response.body as ReadableStream),
    createWriteStream(partial, { flags: resumed ? 'a' : 'w' }),
  );

  return { resumedFrom: resumed ? resumeFrom : 0 };
}

async function checkHash(partial: string, expected: string) {
  const digest = await digestFile(partial);
  if (digest.sha256 !== expected) {
    await unlink(partial);
    throw new StellaError(
      'integrity_failed',
      `downloaded bundle hash ${digest.sha256} does not match ${expected}`,
    );
  }

  return digest;
}
