import { GetObjectCommand } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { StellaError } from '../../domain/errors.js';
import { createS3Client, type S3ConnectionOptions } from './s3-target.js';

// SigV4 query signatures are valid for at most seven days (AWS S3 API reference,
// "Authenticating Requests: Using Query Parameters").
export const MAX_PRESIGN_SECONDS = 7 * 24 * 3600;
export const DEFAULT_PRESIGN_SECONDS = 15 * 60;

export interface PresignGetInput {
  connection: S3ConnectionOptions;
  bucket: string;
  key: string;
  expiresInSeconds?: number;
  fileName?: string; // sets Content-Disposition on the answer, for browsers
  now?: Date;
}

export interface PresignedGet {
  url: string;
  expiresAt: string;
}

// Signs locally with the configured credentials: nothing is sent to the server, so an
// object that was removed since is only noticed by whoever follows the URL (404).
export async function presignObjectGet(input: PresignGetInput): Promise<PresignedGet> {
  const expiresIn = input.expiresInSeconds ?? DEFAULT_PRESIGN_SECONDS;
  checkExpiry(expiresIn);
  const client = createS3Client(input.connection);
  try {
    const command = new GetObjectCommand({
      Bucket: input.bucket,
      Key: input.key,
      ...(input.fileName
        ? { ResponseContentDisposition: `attachment; filename="${input.fileName}"` }
        : {}),
    });
    const signingDate = input.now ?? new Date();
    const url = await getSignedUrl(client, command, { expiresIn, signingDate });

    return { url, expiresAt: new Date(signingDate.getTime() + expiresIn * 1000).toISOString() };
  } catch (err) {
    throw new StellaError('unavailable', `cannot sign a URL for s3://${input.bucket}`, {
      cause: err,
    });
  } finally {
    client.destroy();
  }
}

function checkExpiry(seconds: number): void {
  if (!Number.isInteger(seconds) || seconds < 1 || seconds > MAX_PRESIGN_SECONDS) {
    throw new StellaError(
      'bad_request',
      `a presigned URL lives 1 to ${MAX_PRESIGN_SECONDS} seconds, not ${seconds}`,
    );
  }
}

export interface StoredObjectEntry {
  key: string;
  sha256: string;
  size: number;
}

// The bundle archive among the objects an objstore distribution recorded in its metadata
// (upload-objects.ts): the one named <runId>.tar.zst.
export function bundleObjectOf(
  metadata: Record<string, unknown>,
  runId: string,
): (StoredObjectEntry & { bucket: string }) | undefined {
  const objects = Array.isArray(metadata.objects) ? (metadata.objects as StoredObjectEntry[]) : [];
  const archive = objects.find((object) => object.key?.split('/').pop() === `${runId}.tar.zst`);
  if (!archive || typeof metadata.bucket !== 'string') {
    return undefined;
  }

  return { bucket: metadata.bucket, key: archive.key, sha256: archive.sha256, size: archive.size };
}
