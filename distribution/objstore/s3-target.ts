import { S3Client } from '@aws-sdk/client-s3';
import { StellaError } from '../../domain/errors.js';

export interface S3Target {
  bucket: string;
  prefix: string; // no leading or trailing slash; '' for the bucket root
}

// Bucket names as S3 allows them (3–63 lower-case letters, digits, dots and hyphens).
const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

export function parseS3Target(text: string): S3Target {
  const match = /^s3:\/\/([^/]+)\/?(.*)$/.exec(text);
  if (!match || !BUCKET.test(match[1])) {
    throw new StellaError(
      'bad_request',
      `S3 target ${JSON.stringify(text)}: expected s3://bucket/prefix`,
    );
  }

  const prefix = match[2].replace(/\/+$/, '');
  if (prefix.split('/').some((part) => part === '..' || part === '.') || prefix.includes('//')) {
    throw new StellaError(
      'bad_request',
      `S3 target ${JSON.stringify(text)}: prefix has empty or dot segments`,
    );
  }

  return { bucket: match[1], prefix };
}

export function objectKey(target: S3Target, relative: string): string {
  return target.prefix ? `${target.prefix}/${relative}` : relative;
}

export interface S3ConnectionOptions {
  // An S3-compatible endpoint (MinIO, Ceph…); path-style addressing is then the default.
  endpoint?: string;
  region?: string;
  forcePathStyle?: boolean;
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
}

// Without explicit credentials the SDK's default chain applies (AWS_* variables, profiles,
// instance roles).
export function createS3Client(options: S3ConnectionOptions): S3Client {
  return new S3Client({
    endpoint: options.endpoint,
    region: options.region ?? 'us-east-1',
    forcePathStyle: options.forcePathStyle ?? options.endpoint !== undefined,
    credentials: options.credentials,
    // Our own retry loop decides (with resume); the SDK's attempts would only stack up.
    maxAttempts: 2,
  });
}

export function s3ConnectionFromEnv(env: NodeJS.ProcessEnv = process.env): S3ConnectionOptions {
  const accessKeyId = env.STELLA_S3_ACCESS_KEY_ID;
  const secretAccessKey = env.STELLA_S3_SECRET_ACCESS_KEY;

  return {
    endpoint: env.STELLA_S3_ENDPOINT || undefined,
    region: env.STELLA_S3_REGION ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION,
    forcePathStyle: env.STELLA_S3_FORCE_PATH_STYLE
      ? env.STELLA_S3_FORCE_PATH_STYLE !== 'false'
      : undefined,
    credentials:
      accessKeyId && secretAccessKey
        ? { accessKeyId, secretAccessKey, sessionToken: env.STELLA_S3_SESSION_TOKEN }
        : undefined,
  };
}
