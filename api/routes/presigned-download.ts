import type { Request, Response } from 'express';
import { z } from 'zod';
import {
  bundleObjectOf,
  DEFAULT_PRESIGN_SECONDS,
  MAX_PRESIGN_SECONDS,
  presignObjectGet,
} from '../../distribution/objstore/presigned-url.js';
import { s3ConnectionFromEnv } from '../../distribution/objstore/s3-target.js';
import { StellaError } from '../../domain/errors.js';
import type { Database } from '../../store/database.js';
import { appendAuditEntry } from '../../store/audit-store.js';
import { listSucceededObjstoreDistributions } from '../../store/distribution-store.js';
import { getRun, type RunRow } from '../../store/export-store.js';
import { principalOf } from '../auth/principal.js';
import { tenantOf } from '../tenant.js';

// Not strict: a download link may carry other parameters (cache busters) that we ignore.
export const downloadQuerySchema = z.object({
  mode: z.enum(['stream', 'presigned']).default('stream'),
  expiresIn: z.coerce.number().int().min(1).max(MAX_PRESIGN_SECONDS).optional(),
  distribution: z.string().min(1).max(200).optional(),
});

export type DownloadQuery = z.infer<typeof downloadQuerySchema>;

export interface PresignedDownloadView {
  mode: 'presigned';
  method: 'GET';
  url: string;
  expiresAt: string;
  sha256: string;
  size: number;
  fileName: string;
  bucket: string;
  key: string;
  distributionId: string;
}

export interface PresignedDownloadDependencies {
  db: Database;
  env?: NodeJS.ProcessEnv;
}

// Answers with a time-limited GET URL for the bundle archive that an objstore distribution
// put in a bucket, signed with the API's own S3 settings (STELLA_S3_*). The URL is a bearer
// credential for that one object, so handing it out is audited (`bundle.presign`) before it
// leaves, and the answer is never cached.
export async function sendPresignedDownload(
  deps: PresignedDownloadDependencies,
  req: Request,
  res: Response,
  query: DownloadQuery,
): Promise<void> {
  const run = await getRun(deps.db, tenantOf(req), String(req.params.id));
  const stored = await storedBundle(deps.db, run, query.distribution);
  const fileName = `${run.id}.tar.zst`;
  const signed = await presignObjectGet({
    connection: s3ConnectionFromEnv(deps.env ?? process.env),
    bucket: stored.bucket,
    key: stored.key,
    expiresInSeconds: query.expiresIn ?? DEFAULT_PRESIGN_SECONDS,
    fileName,
  });
  await auditPresign(deps.db, req, run, stored, signed.expiresAt);

  const view: PresignedDownloadView = {
    mode: 'presigned',
    method: 'GET',
    ...signed,
    sha256: stored.sha256,
    size: stored.size,
    fileName,
    bucket: stored.bucket,
    key: stored.key,
    distributionId: stored.distributionId,
  };
  res.setHeader('Cache-Control', 'no-store');
  res.json(view);
}

// The newest succeeded objstore distribution of the run (or the one named) whose archive
// object carries the run's own sha256.
async function storedBundle(db: Database, run: RunRow, distributionId: string | undefined) {
  const rows = await listSucceededObjstoreDistributions(db, run.tenant, run.id, distributionId);
  for (const row of rows) {
    const object = bundleObjectOf(JSON.parse(row.metadata) as Record<string, unknown>, run.id);
    if (object && object.sha256 === run.artifactSha256) {
      return { ...object, distributionId: row.id };
    }
  }

  throw new StellaError(
    'not_found',
    `run ${run.id} has no bundle in object storage: distribute it with type objstore first`,
  );
}

async function auditPresign(
  db: Database,
  req: Request,
  run: RunRow,
  stored: { bucket: string; key: string; distributionId: string },
  expiresAt: string,
): Promise<void> {
  await appendAuditEntry(db, {
    tenant: run.tenant,
    actor: principalOf(req)?.subject ?? 'unknown',
    action: 'bundle.presign',
    target: run.id,
    outcome: 'succeeded',
    details: {
      distributionId: stored.distributionId,
      bucket: stored.bucket,
      key: stored.key,
      expiresAt,
    },
  });
}
