import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import {
  DeleteObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { StellaError } from '../../domain/errors.js';
import { DEFAULT_RETRY, withRetry, type RetryOptions } from '../retry.js';
import { uploadMultipart } from './multipart-upload.js';
import { isTransientS3Error, toS3DomainError } from './s3-errors.js';
import { objectKey, type S3Target } from './s3-target.js';

export interface ObjectSource {
  name: string; // relative to the target prefix
  contentType: string;
  sha256: string; // hex
  size: number;
  file?: string;
  bytes?: Buffer;
}

export interface UploadObjectsOptions {
  client: S3Client;
  target: S3Target;
  objects: ObjectSource[];
  // Written after every other object is in place; consumers wait for it.
  marker: ObjectSource;
  multipartThreshold?: number;
  partSize?: number;
  retry?: RetryOptions;
  onProgress?: (progress: { key: string; uploaded: number; size: number }) => void;
}

export interface UploadedObject {
  key: string;
  sha256: string;
  size: number;
  etag?: string;
  outcome: 'present' | 'uploaded';
}

export interface UploadObjectsResult {
  objects: UploadedObject[];
  marker: UploadedObject;
}

export const DEFAULT_MULTIPART_THRESHOLD = 64 * 1024 * 1024;
export const DEFAULT_PART_SIZE = 16 * 1024 * 1024;
// S3 refuses parts under 5 MiB (except the last one).
export const MIN_PART_SIZE = 5 * 1024 * 1024;
export const SHA256_METADATA = 'sha256';

// Puts a bundle's objects under the prefix, each one skipped when an object with the same
// sha256 (kept in its metadata) is already there, then the marker. A marker left by another
// export under the same prefix is removed first, so it never vouches for mixed objects.
export async function uploadObjects(options: UploadObjectsOptions): Promise<UploadObjectsResult> {
  const context = uploadContext(options);
  await removeForeignMarker(context, options.marker);

  const objects: UploadedObject[] = [];
  for (const object of options.objects) {
    objects.push(await uploadObject(context, object));
  }
  const marker = await uploadObject(context, options.marker);

  return { objects, marker };
}

export interface UploadContext {
  client: S3Client;
  target: S3Target;
  multipartThreshold: number;
  partSize: number;
  retry: RetryOptions;
  onProgress?: UploadObjectsOptions['onProgress'];
}

function uploadContext(options: UploadObjectsOptions): UploadContext {
  const partSize = options.partSize ?? DEFAULT_PART_SIZE;
  if (partSize < MIN_PART_SIZE) {
    throw new StellaError('bad_request', `S3 part size ${partSize} is below the 5 MiB minimum`);
  }

  return {
    client: options.client,
    target: options.target,
    multipartThreshold: options.multipartThreshold ?? DEFAULT_MULTIPART_THRESHOLD,
    partSize,
    retry: { ...(options.retry ?? DEFAULT_RETRY), retryable: isTransientS3Error },
    onProgress: options.onProgress,
  };
}

// One S3 call with retries; what fails for good leaves as a domain error.
export async function s3Call<T>(
  context: UploadContext,
  action: string,
  call: () => Promise<T>,
): Promise<T> {
  try {
    return await withRetry(call, context.retry);
  } catch (err) {
    throw toS3DomainError(err, action);
  }
}

async function uploadObject(context: UploadContext, object: ObjectSource): Promise<UploadedObject> {
  const key = objectKey(context.target, object.name);
  const existing = await headObject(context, key);
  if (existing?.sha256 === object.sha256 && existing.size === object.size) {
    return {
      key,
      sha256: object.sha256,
      size: object.size,
      etag: existing.etag,
      outcome: 'present',
    };
  }

  const etag =
    object.size > context.multipartThreshold && object.file
      ? await uploadMultipart(context, key, { ...object, file: object.file })
      : await putWhole(context, key, object);
  context.onProgress?.({ key, uploaded: object.size, size: object.size });

  return { key, sha256: object.sha256, size: object.size, etag, outcome: 'uploaded' };
}

async function putWhole(
  context: UploadContext,
  key: string,
  object: ObjectSource,
): Promise<string | undefined> {
  const body = object.bytes ?? (await readRange(object.file!, 0, object.size));
  const answer = await s3Call(context, `put ${key}`, () =>
    context.client.send(
      new PutObjectCommand({
        Bucket: context.target.bucket,
        Key: key,
        Body: body,
        ContentLength: body.byteLength,
        ContentType: object.contentType,
        ChecksumSHA256: Buffer.from(object.sha256, 'hex').toString('base64'),
        Metadata: { [SHA256_METADATA]: object.sha256 },
      }),
    ),
  );

  return unquote(answer.ETag);
}

interface ExistingObject {
  sha256?: string;
  size?: number;
  etag?: string;
}

export async function headObject(
  context: UploadContext,
  key: string,
): Promise<ExistingObject | undefined> {
  try {
    const head = await withRetry(
      () => context.client.send(new HeadObjectCommand({ Bucket: context.target.bucket, Key: key })),
      context.retry,
    );

    return {
      sha256: head.Metadata?.[SHA256_METADATA],
      size: head.ContentLength,
      etag: unquote(head.ETag),
    };
  } catch (err) {
    if ((err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404) {
      return undefined;
    }
    throw toS3DomainError(err, `head ${key}`);
  }
}

async function removeForeignMarker(context: UploadContext, marker: ObjectSource) {
  const key = objectKey(context.target, marker.name);
  const existing = await headObject(context, key);
  if (!existing || existing.sha256 === marker.sha256) {
    return;
  }

  await s3Call(context, `delete ${key}`, () =>
    context.client.send(new DeleteObjectCommand({ Bucket: context.target.bucket, Key: key })),
  );
}

export async function readRange(file: string, start: number, end: number): Promise<Buffer> {
  const handle = await open(file, 'r');
  try {
    const buffer = Buffer.alloc(end - start);
    let filled = 0;
    while (filled < buffer.byteLength) {
      const { bytesRead } = await handle.read(
        buffer,
        filled,
        buffer.byteLength - filled,
        start + filled,
      );
      if (bytesRead === 0) {
        throw new StellaError(
          'integrity_failed',
          `${file} ended at ${start + filled}, expected ${end} bytes`,
        );
      }
      filled += bytesRead;
    }

    return buffer;
  } finally {
    await handle.close();
  }
}

export function sha256Base64(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('base64');
}

export function unquote(etag: string | undefined): string | undefined {
  return etag?.replace(/^"|"$/g, '');
}
