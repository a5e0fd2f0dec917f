import { WorkflowExecutionAlreadyStartedError, type Client } from '@temporalio/client';
import { Router } from 'express';
import { StellaError } from '../../domain/errors.js';
import {
  DISTRIBUTE_RUN_WORKFLOW,
  distributeRequestSchema,
  distributionId,
  distributionWorkflowId,
  isOciAuth,
  isS3Auth,
  normalizeTarget,
  type DistributeRequest,
  type DistributeRunInput,
} from '../../distribution/distribution-request.js';
import { sealCredentials } from '../../distribution/sealed-credentials.js';
import type { StellaConfig } from '../../platform/config.js';
import type { Database } from '../../store/database.js';
import {
  ensureDistribution,
  findDistribution,
  getRunDistribution,
  listRunDistributions,
  resetFailedDistribution,
  setDistributionState,
  type DistributionRow,
} from '../../store/distribution-store.js';
import { getRun, type RunRow } from '../../store/export-store.js';
import { tenantOf } from '../tenant.js';

export interface DistributionRouteDependencies {
  db: Database;
  temporal: Client;
  config: StellaConfig;
}

export interface DistributionView {
  id: string;
  runId: string;
  type: string;
  target: string;
  state: string;
  metadata: Record<string, unknown>;
  errorClass: string | null;
  errorMessage: string | null;
  createdAt: string;
  updatedAt: string;
}

// POST starts (or joins) the distribution workflow of one (run, type, target) and answers
// 202 with its row; a target already distributed answers 200 and starts nothing.
export function distributionRoutes(deps: DistributionRouteDependencies): Router {
  const router = Router();

  router.post('/export/runs/:id/distribute', async (req, res) => {
    const request = distributeRequestSchema.parse(req.body ?? {});
    checkAuthShape(request);
    const run = await getRun(deps.db, tenantOf(req), req.params.id);
    if (run.state !== 'succeeded') {
      throw new StellaError(
        'conflict',
        `run ${run.id} has no bundle to distribute (state ${run.state})`,
      );
    }

    const target = normalizeTarget(request.type, request.target);
    const row = await ensureRow(deps.db, run, request.type, target);
    if (row.state === 'succeeded') {
      res.status(200).json(distributionView(row));

      return;
    }
    await startDistribution(deps, run, row, request);
    res.status(202).json(distributionView(await reload(deps.db, row)));
  });

  router.get('/export/runs/:id/distributions', async (req, res) => {
    const run = await getRun(deps.db, tenantOf(req), req.params.id);
    const rows = await listRunDistributions(deps.db, run.tenant, run.id);
    res.json({ distributions: rows.map(distributionView) });
  });

  router.get('/export/runs/:id/distributions/:distributionId', async (req, res) => {
    const run = await getRun(deps.db, tenantOf(req), req.params.id);
    const row = await getRunDistribution(deps.db, run.tenant, run.id, req.params.distributionId);
    res.json(distributionView(row));
  });

  return router;
}

function checkAuthShape(request: DistributeRequest) {
  const fits = request.type === 'oci' ? isOciAuth(request.auth) : isS3Auth(request.auth);
  if (request.auth && !fits) {
    const expected =
      request.type === 'oci' ? '{username, password} or {token}' : '{accessKeyId, secretAccessKey}';
    throw new StellaError('bad_request', `auth for ${request.type} must be ${expected}`);
  }
}

async function ensureRow(
  db: Database,
  run: RunRow,
  type: DistributeRequest['type'],
  target: string,
) {
  const id = distributionId(run.id, type, target);

  return ensureDistribution(db, run.tenant, { id, runId: run.id, type, target });
}

async function startDistribution(
  deps: DistributionRouteDependencies,
  run: RunRow,
  row: DistributionRow,
  request: DistributeRequest,
) {
  const input: DistributeRunInput = {
    tenant: run.tenant,
    runId: run.id,
    distributionId: row.id,
    type: request.type,
    target: row.target,
    sealedAuth: request.auth
      ? await sealCredentials({ keysDir: deps.config.keysDir }, row.id, request.auth)
      : undefined,
  };
  // A failed distribution is started again: its row goes back to pending first, so that a
  // client polling it never reads the old failure as the outcome of the new attempt.
  await resetFailedDistribution(deps.db, run.tenant, row.id);
  try {
    await deps.temporal.workflow.start(DISTRIBUTE_RUN_WORKFLOW, {
      taskQueue: deps.config.taskQueue,
      workflowId: distributionWorkflowId(run.id, request.type, row.target),
      args: [input],
    });
  } catch (err) {
    // Already under way for this target: the caller joins the running workflow.
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) {
      await setDistributionState(deps.db, run.tenant, row.id, {
        state: 'failed',
        errorClass: 'unavailable',
        errorMessage: 'workflow not started',
      });
      throw new StellaError(
        'unavailable',
        'the workflow service could not start the distribution',
        { cause: err },
      );
    }
  }
}

async function reload(db: Database, row: DistributionRow): Promise<DistributionRow> {
  return (await findDistribution(db, row.tenant, row.id)) ?? row;
}

export function distributionView(row: DistributionRow): DistributionView {
  return {
    id: row.id,
    runId: row.runId,
    type: row.type,
    target: row.target,
    state: row.state,
    metadata: JSON.parse(row.metadata) as Record<string, unknown>,
    errorClass: row.errorClass,
    errorMessage: row.errorMessage,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}
