import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { Router, type Request } from 'express';
import { z } from 'zod';
import { bundlePaths } from '../../activities/bundle-paths.js';
import { JWKS_PATH, MANIFEST_PATH, PROVENANCE_PATH, SIGNATURE_PATH } from '../../bundle/manifest.js';

const PROVENANCE_ENVELOPE_PATH = 'signatures/provenance.dsse.json';
import { StellaError } from '../../domain/errors.js';
import type { StellaConfig } from '../../platform/config.js';
import type { Database } from '../../store/database.js';
import { getRun, listRuns, TERMINAL_STATES, type RunRow, type RunState } from '../../store/export-store.js';
import { progressQuery } from '../../workflows/export-run-definitions.js';
import type { ApiMetrics } from '../metrics.js';
import { createRun, createRunSchema } from '../run-starter.js';
import { runView } from '../run-view.js';
import { tenantOf } from '../tenant.js';
import { downloadQuerySchema, sendPresignedDownload } from './presigned-download.js';
import { sendFileWithRanges } from './ranged-file.js';

const listQuerySchema = z.strictObject({
  state: z
    .enum(['queued', 'planning', 'writing', 'signing', 'distributing', 'succeeded', 'failed', 'cancelled'])
    .optional(),
  profileId: z.string().max(64).optional(),
  createdAfter: z.iso.datetime({ offset: true }).optional(),
  createdBefore: z.iso.datetime({ offset: true }).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
});

const idempotencyKeySchema = z.string().min(1).max(200).optional();

export interface RunRouteDependencies {
  db: Database;
  temporal: Client;
  config: StellaConfig;
  metrics: ApiMetrics;
}

export function runRoutes(deps: RunRouteDependencies): Router {
  const { db, config } = deps;
  const router = Router();

  router.post('/export/runs', async (req, res) => {
    const request = createRunSchema.parse(req.body ?? {});
    if (request.trigger !== 'api' && request.trigger !== 'cli') {
      // Only schedules and events themselves record those triggers.
      throw new StellaError('bad_request', `trigger ${request.trigger} cannot be set through the API`);
    }
    const key = idempotencyKeySchema.parse(req.header('idempotency-key'));
    const { run, created } = await createRun(deps, tenantOf(req), request, key);
    if (created) {
      deps.metrics.runsCreated.inc({ profile_kind: run.profileKind, trigger: run.trigger });
    }
    res.status(created ? 202 : 200).location(`/export/runs/${run.id}`).json(runView(run));
  });

  router.get('/export/runs', async (req, res) => {
    const query = listQuerySchema.parse(req.query);
    const runs = await listRuns(db, tenantOf(req), {
      state: query.state,
      profileId: query.profileId,
      createdAfter: query.createdAfter ? new Date(query.createdAfter) : undefined,
      createdBefore: query.createdBefore ? new Date(query.createdBefore) : undefined,
      limit: query.limit,
    });
    res.json({ runs: runs.map((run) => runView(run)) });
  });

  router.get('/export/runs/:id', async (req, res) => {
    const run = await getRun(db, tenantOf(req), req.params.id);
    res.json(runView(run, await livePhase(deps.temporal, run)));
  });

  router.post('/export/runs/:id/cancel', async (req, res) => {
    const run = await getRun(db, tenantOf(req), req.params.id);
    if (TERMINAL_STATES.includes(run.state as RunState)) {
      throw new StellaError('conflict', `run ${run.id} has already ended (${run.state})`);
    }
    await deps.temporal.workflow.getHandle(run.workflowId).cancel();
    res.status(202).json(runView(run, { phase: 'cancelling' }));
  });

  // ?mode=presigned answers with a signed S3 URL instead of the bytes (presigned-download.ts).
  router.get('/export/runs/:id/download', async (req, res) => {
    const query = downloadQuerySchema.parse(req.query);
    if (query.mode === 'presigned') {
      await sendPresignedDownload({ db }, req, res, query);

      return;
    }

    const run = await finishedRun(db, req);
    const archive = bundlePaths(config, { tenant: run.tenant, runId: run.id }).archive;
    await sendFileWithRanges(req, res, archive, {
      etag: run.artifactSha256!,
      contentType: 'application/zstd',
      fileName: `${run.id}.tar.zst`,
    });
  });

  router.get('/export/runs/:id/manifest', async (req, res) => {
    const run = await finishedRun(db, req);
    res.type('application/json').send(await bundleFile(config, run, MANIFEST_PATH));
  });

  router.get('/export/runs/:id/provenance', async (req, res) => {
    const run = await finishedRun(db, req);
    res.type('application/json').send(await bundleFile(config, run, PROVENANCE_PATH));
  });

  router.get('/export/runs/:id/signatures', async (req, res) => {
    const run = await finishedRun(db, req);
    const signature = (await bundleFile(config, run, SIGNATURE_PATH)).toString('utf8').trim();
    const jwks = JSON.parse((await bundleFile(config, run, JWKS_PATH)).toString('utf8'));
    const envelope = await bundleFile(config, run, PROVENANCE_ENVELOPE_PATH).then(
      (bytes) => [{ path: PROVENANCE_ENVELOPE_PATH, over: PROVENANCE_PATH, dsse: JSON.parse(bytes.toString('utf8')) }],
      () => [],
    );
    res.json({ signatures: [{ path: SIGNATURE_PATH, over: MANIFEST_PATH, jws: signature }, ...envelope], jwks });
  });

  return router;
}

async function finishedRun(db: Database, req: Request): Promise<RunRow> {
  const run = await getRun(db, tenantOf(req), String(req.params.id));
  if (run.state !== 'succeeded') {
    throw new StellaError('not_found', `run ${run.id} has no bundle (state ${run.state})`);
  }

  return run;
}

async function bundleFile(config: StellaConfig, run: RunRow, relative: string): Promise<Buffer> {
  const file = path.join(bundlePaths(config, { tenant: run.tenant, runId: run.id }).final, relative);

  return readFile(file).catch((err: unknown) => {
    throw new StellaError('not_found', `${relative} of run ${run.id} is missing`, { cause: err });
  });
}

// The workflow's own view of its phase, when it is still running; the database is the
// fallback whenever Temporal does not answer quickly.
async function livePhase(temporal: Client, run: RunRow): Promise<{ phase?: string }> {
  if (TERMINAL_STATES.includes(run.state as RunState)) {
    return {};
  }
  try {
    const handle = temporal.workflow.getHandle(run.workflowId);
    const progress = await Promise.race([
      handle.query(progressQuery),
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error('timeout')), 2000)),
    ]);

    return { phase: progress.phase };
  } catch {
    return {};
  }
}
