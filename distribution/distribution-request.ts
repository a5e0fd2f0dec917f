import { createHash } from 'node:crypto';
import { z } from 'zod';
import { parseS3Target } from './objstore/s3-target.js';
import { formatOciReference, parseOciReference } from './oci/reference.js';

// Shared by the API, the workflow and the activity: what a distribution request is, and how
// its row and workflow are named.

export const DISTRIBUTE_RUN_WORKFLOW = 'distributeRunWorkflow';

export const DISTRIBUTION_TYPES = ['oci', 'objstore'] as const;
export type DistributionType = (typeof DISTRIBUTION_TYPES)[number];

export type DistributionState = 'pending' | 'running' | 'succeeded' | 'failed';
export const FINISHED_DISTRIBUTION_STATES: DistributionState[] = ['succeeded', 'failed'];

const ociAuthSchema = z.union([
  z.strictObject({ username: z.string().min(1).max(256), password: z.string().min(1).max(4096) }),
  z.strictObject({ token: z.string().min(1).max(16384) }),
]);

const s3AuthSchema = z.strictObject({
  accessKeyId: z.string().min(1).max(256),
  secretAccessKey: z.string().min(1).max(1024),
  sessionToken: z.string().max(4096).optional(),
});

export const distributionAuthSchema = z.union([ociAuthSchema, s3AuthSchema]);
export type DistributionAuth = z.infer<typeof distributionAuthSchema>;

export const distributeRequestSchema = z.strictObject({
  type: z.enum(DISTRIBUTION_TYPES),
  target: z.string().min(1).max(1024),
  auth: distributionAuthSchema.optional(),
});

export type DistributeRequest = z.infer<typeof distributeRequestSchema>;

// What the workflow carries. Credentials travel sealed (see sealed-credentials.ts): Temporal
// keeps workflow inputs in its history, and that history must not hold a password.
export interface DistributeRunInput {
  tenant: string;
  runId: string;
  distributionId: string;
  type: DistributionType;
  target: string;
  sealedAuth?: string;
}

export interface DistributionOutcome {
  distributionId: string;
  metadata: Record<string, unknown>;
}

// One spelling per target, so that the unique (run, type, target) row and the workflow id
// do not depend on how the user wrote it.
export function normalizeTarget(type: DistributionType, target: string): string {
  if (type === 'oci') {
    return formatOciReference(parseOciReference(target.trim()));
  }
  const s3 = parseS3Target(target.trim());

  return `s3://${s3.bucket}/${s3.prefix}`;
}

export function distributionId(runId: string, type: DistributionType, target: string): string {
  return `dist_${targetHash(runId, type, target)}`;
}

export function distributionWorkflowId(
  runId: string,
  type: DistributionType,
  target: string,
): string {
  return `${runId}--dist--${type}--${targetHash(runId, type, target).slice(0, 16)}`;
}

function targetHash(runId: string, type: string, target: string): string {
  return createHash('sha256').update(`${runId}\n${type}\n${target}`).digest('hex').slice(0, 32);
}

export function isOciAuth(
  auth: DistributionAuth | undefined,
): auth is z.infer<typeof ociAuthSchema> {
  return auth !== undefined && ('username' in auth || 'token' in auth);
}

export function isS3Auth(auth: DistributionAuth | undefined): auth is z.infer<typeof s3AuthSchema> {
  return auth !== undefined && 'accessKeyId' in auth;
}
