import { createHash } from 'node:crypto';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  ListMultipartUploadsCommand,
  ListPartsCommand,
  UploadPartCommand,
  type CompletedPart,
  type MultipartUpload,
  type Part,
} from '@aws-sdk/client-s3';
import {
  headObject,
  readRange,
  s3Call,
  sha256Base64,
  SHA256_METADATA,
  unquote,
  type ObjectSource,
  type UploadContext,
} from './upload-objects.js';

// A multipart upload that survives its own interruption: an upload already open for the
// key is picked up again, and each of its parts whose MD5 (the part ETag) or SHA-256
// checksum matches the bytes we would send is kept instead of being sent twice. Older
// leftover uploads for the key are aborted, so no orphaned parts pile up in the bucket.
export async function uploadMultipart(
  context: UploadContext,
  key: string,
  object: ObjectSource & { file: string },
): Promise<string | undefined> {
  const uploadId = await resumableUpload(context, key, object);
  const existing = await listParts(context, key, uploadId);
  const count = Math.ceil(object.size / context.partSize);
  const parts: CompletedPart[] = new Array(count);
  let next = 0;
  let uploaded = 0;
  // A few parts in flight: one stream leaves the link idle while the server checks each
  // part's SHA-256. Memory stays at PART_CONCURRENCY × part size.
  const worker = async () => {
    for (let index = next++; index < count; index = next++) {
      const start = index * context.partSize;
      const end = Math.min(start + context.partSize, object.size);
      const bytes = await readRange(object.file, start, end);
      parts[index] = await ensurePart(context, {
        key,
        uploadId,
        number: index + 1,
        bytes,
        existing: existing.get(index + 1),
      });
      uploaded += end - start;
      context.onProgress?.({ key, uploaded, size: object.size });
    }
  };
  await Promise.all(Array.from({ length: Math.min(PART_CONCURRENCY, count) }, worker));

  return complete(context, key, { id: uploadId, sha256: object.sha256 }, parts);
}

const PART_CONCURRENCY = 4;

async function resumableUpload(
  context: UploadContext,
  key: string,
  object: ObjectSource,
): Promise<string> {
  const open = await openUploads(context, key);
  const [latest, ...stale] = open.sort(
    (a, b) => (b.Initiated?.getTime() ?? 0) - (a.Initiated?.getTime() ?? 0),
  );
  for (const upload of stale) {
    await abort(context, key, upload.UploadId!);
  }
  if (latest?.UploadId) {
    return latest.UploadId;
  }

  const created = await s3Call(context, `start upload of ${key}`, () =>
    context.client.send(
      new CreateMultipartUploadCommand({
        Bucket: context.target.bucket,
        Key: key,
        ContentType: object.contentType,
        ChecksumAlgorithm: 'SHA256',
        Metadata: { [SHA256_METADATA]: object.sha256 },
      }),
    ),
  );

  return created.UploadId!;
}

async function openUploads(context: UploadContext, key: string): Promise<MultipartUpload[]> {
  const uploads: MultipartUpload[] = [];
  let keyMarker: string | undefined;
  let uploadIdMarker: string | undefined;
  do {
    const page = await s3Call(context, `list uploads of ${key}`, () =>
      context.client.send(
        new ListMultipartUploadsCommand({
          Bucket: context.target.bucket,
          Prefix: key,
          KeyMarker: keyMarker,
          UploadIdMarker: uploadIdMarker,
        }),
      ),
    );
    uploads.push(...(page.Uploads ?? []).filter((upload) => upload.Key === key));
    ({ NextKeyMarker: keyMarker, NextUploadIdMarker: uploadIdMarker } = page.IsTruncated
      ? page
      : {});
  } while (keyMarker);

  return uploads;
}

async function listParts(
  context: UploadContext,
  key: string,
  uploadId: string,
): Promise<Map<number, Part>> {
  const parts = new Map<number, Part>();
  let marker: string | undefined;
  do {
    const page = await s3Call(context, `list parts of ${key}`, () =>
      context.client.send(
        new ListPartsCommand({
          Bucket: context.target.bucket,
          Key: key,
          UploadId: uploadId,
          PartNumberMarker: marker,
        }),
      ),
    );
    for (const part of page.Parts ?? []) {
      parts.set(part.PartNumber!, part);
    }
    marker = page.IsTruncated ? page.NextPartNumberMarker : undefined;
  } while (marker);

  return parts;
}

interface PartInput {
  key: string;
  uploadId: string;
  number: number;
  bytes: Buffer;
  existing?: Part;
}

async function ensurePart(context: UploadContext, part: PartInput): Promise<CompletedPart> {
  const checksum = sha256Base64(part.bytes);
  if (part.existing && sameBytes(part.existing, part.bytes, checksum)) {
    return { PartNumber: part.number, ETag: part.existing.ETag, ChecksumSHA256: checksum };
  }

  const answer = await s3Call(context, `upload part ${part.number} of ${part.key}`, () =>
    context.client.send(
      new UploadPartCommand({
        Bucket: context.target.bucket,
        Key: part.key,
        UploadId: part.uploadId,
        PartNumber: part.number,
        Body: part.bytes,
        ContentLength: part.bytes.byteLength,
        ChecksumSHA256: checksum,
      }),
    ),
  );

  return { PartNumber: part.number, ETag: answer.ETag, ChecksumSHA256: checksum };
}

function sameBytes(existing: Part, bytes: Buffer, checksum: string): boolean {
  if (existing.Size !== bytes.byteLength) {
    return false;
  }
  if (existing.ChecksumSHA256) {
    return existing.ChecksumSHA256 === checksum;
  }

  return unquote(existing.ETag) === createHash('md5').update(bytes).digest('hex');
}

// A completion whose answer was lost is retried on an upload S3 has already closed
// (NoSuchUpload); the finished object carrying our checksum shows that the first one landed.
async function complete(
  context: UploadContext,
  key: string,
  upload: { id: string; sha256: string },
  parts: CompletedPart[],
) {
  try {
    const answer = await s3Call(context, `complete upload of ${key}`, () =>
      context.client.send(
        new CompleteMultipartUploadCommand({
          Bucket: context.target.bucket,
          Key: key,
          UploadId: upload.id,
          MultipartUpload: { Parts: parts },
        }),
      ),
    );

    return unquote(answer.ETag);
  } catch (err) {
    const existing =
      (err as Error).cause instanceof Error &&
      ((err as Error).cause as Error).name === 'NoSuchUpload'
        ? await headObject(context, key)
        : undefined;
    if (existing?.sha256 !== upload.sha256) {
      throw err;
    }

    return existing.etag;
  }
}

async function abort(context: UploadContext, key: string, uploadId: string) {
  await s3Call(context, `abort stale upload of ${key}`, () =>
    context.client.send(
      new AbortMultipartUploadCommand({
        Bucket: context.target.bucket,
        Key: key,
        UploadId: uploadId,
      }),
    ),
  );
}
