import { createWriteStream } from 'node:fs';
import { mkdir, rename, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { digestFile } from '../bundle/files.js';
import { StellaError } from '../domain/errors.js';
import type { ApiClient } from './api-client.js';

export interface DownloadResult {
  path: string;
  sha256: string;
  size: number;
  resumedFrom: number;
}

// Downloads a run's bundle to `<out>.partial`, resuming from what is already there with a
// range request (If-Range on the bundle's sha256), then checks the whole file's hash and
// renames it into place. A mismatch leaves nothing under the final name.
export async function downloadBundle(api: ApiClient, runId: string, out: string): Promise<DownloadResult> {
  const partial = `${out}.partial`;
  await mkdir(path.dirname(path.resolve(out)), { recursive: true });
  const have = await stat(partial).then((s) => s.size, () => 0);
  const head = await api.request('HEAD', `/export/runs/${runId}/download`);
  const etag = head.headers.get('etag') ?? '';
  const expected = etag.replace(/"/g, '');

  const size = Number(head.headers.get('content-length') ?? 0);
  // A partial as long as the bundle (or longer) cannot be resumed: start it over.
  const resumeFrom = have > 0 && have < size ? have : 0;
  const headers: Record<string, string> =
    resumeFrom > 0 ? { range: `bytes=${resumeFrom}-`, 'if-range': etag } : {};
  const response = await api.request('GET', `/export/runs/${runId}/download`, { headers });
  const resumed = response.status === 206;
  await pipeline(
    Readable.fromWeb(response.body as import('node:stream/web').ReadableStream),
    createWriteStream(partial, { flags: resumed ? 'a' : 'w' }),
  );

  const digest = await digestFile(partial);
  if (digest.sha256 !== expected) {
    await unlink(partial);
    throw new StellaError('integrity_failed', `downloaded bundle hash ${digest.sha256} does not match ${expected}`);
  }
  await rename(partial, out);

  return { path: out, ...digest, resumedFrom: resumed ? resumeFrom : 0 };
}
