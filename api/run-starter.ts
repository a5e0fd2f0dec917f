import type { Client } from '@temporalio/client';
import { z } from 'zod';
import { adapterFor } from '../adapters/registry.js';
import { canonicalJson } from '../bundle/canonical-json.js';
import { StellaError } from '../domain/errors.js';
import { exportFiltersSchema, type ExportFilters } from '../domain/filters.js';
import type { StellaConfig } from '../platform/config.js';
import { newRunId } from '../platform/ids.js';
import type { Database } from '../store/database.js';
import { sha256Hex } from '../store/evidence-store.js';
import {
  findRunByIdempotencyKey,
  getProfile,
  getRun,
  insertRun,
  updateRun,
  type RunRow,
} from '../store/export-store.js';
import { getPolicy } from '../store/policy-store.js';
import { EXPORT_RUN_WORKFLOW } from '../workflows/export-run-definitions.js';

export const createRunSchema = z.strictObject({
  profileId: z.string().min(1).max(64),
  filters: exportFiltersSchema.optional(),
  policyVersion: z.string().max(64).optional(),
  // The export a delta builds on (mirror:delta): a succeeded run of the same tenant.
  baseRunId: z.string().max(128).optional(),
  trigger: z.enum(['api', 'cli', 'schedule', 'event']).default('api'),
});

// A delta builds on a published mirror bundle, full or delta (mirror-delta-adapter.ts).
const MIRROR_KINDS = ['mirror:full', 'mirror:delta'];

export type CreateRunRequest = z.infer<typeof createRunSchema>;

export interface RunStarterDependencies {
  db: Database;
  temporal: Client;
  config: StellaConfig;
}

// Records a run and starts its workflow (whose id is the run id). With an idempotency key,
// the same request twice gives the same run; the key reused for another request is refused.
export async function createRun(
  deps: RunStarterDependencies,
  tenant: string,
  request: CreateRunRequest,
  idempotencyKey?: string,
  // What started a scheduled or event-triggered run; it is carried into the provenance.
  triggerSource?: Record<string, unknown>,
): Promise<{ run: RunRow; created: boolean }> {
  const profile = await getProfile(deps.db, tenant, request.profileId);
  adapterFor(profile.kind);
  const filters = effectiveFilters(profile.config, request.filters);
  const options = { baseRunId: request.baseRunId, triggerSource };
  const requestHash = sha256Hex(
    canonicalJson({ profileId: profile.id, filters, policyVersion: request.policyVersion ?? null, options }),
  );

  if (idempotencyKey) {
    const existing = await findRunByIdempotencyKey(deps.db, tenant, idempotencyKey);
    if (existing) {
      return { run: sameRequestOrConflict(existing, requestHash), created: false };
    }
  }
  // After the replay check: a replayed request returns its run even if, say, retention has
  // since removed the base run.
  await refuseWhatCanOnlyFail(deps.db, tenant, profile.kind, request);

  const runId = newRunId(tenant);
  const inserted = await insertRun(deps.db, tenant, {
    id: runId,
    profileId: profile.id,
    profileKind: profile.kind,
    trigger: request.trigger,
    state: 'queued',
    filters: canonicalJson(filters),
    options: canonicalJson(options),
    policyVersion: request.policyVersion ?? null,
    idempotencyKey: idempotencyKey ?? null,
    requestHash,
    workflowId: runId,
    createdAt: new Date(),
  });
  if (!inserted && idempotencyKey) {
    // Another request with the same key won the race.
    const winner = await findRunByIdempotencyKey(deps.db, tenant, idempotencyKey);

    return { run: sameRequestOrConflict(winner!, requestHash), created: false };
  }

  await startWorkflow(deps, tenant, runId);

  return { run: await getRun(deps.db, tenant, runId), created: true };
}

// A request the workflow could only fail is refused before a run is recorded: the caller
// learns why at once instead of from a failed run later.
async function refuseWhatCanOnlyFail(
  db: Database,
  tenant: string,
  kind: string,
  request: CreateRunRequest,
): Promise<void> {
  await checkBaseRun(db, tenant, kind, request.baseRunId);
  await checkPolicyVersion(db, tenant, kind, request.policyVersion);
}

async function checkBaseRun(db: Database, tenant: string, kind: string, baseRunId?: string) {
  if (kind === 'mirror:delta' && !baseRunId) {
    throw new StellaError(
      'bad_request',
      'a mirror:delta run needs baseRunId: the export it builds on',
    );
  }
  if (baseRunId === undefined) {
    return;
  }
  if (kind !== 'mirror:delta') {
    throw new StellaError(
      'bad_request',
      `baseRunId applies to mirror:delta profiles only, not ${kind}`,
    );
  }

  await requireSucceededMirrorRun(db, tenant, baseRunId);
}

async function requireSucceededMirrorRun(db: Database, tenant: string, runId: string) {
  const run = await getRun(db, tenant, runId);
  if (!MIRROR_KINDS.includes(run.profileKind)) {
    throw new StellaError(
      'bad_request',
      `base run ${runId} is not a mirror export (${run.profileKind})`,
    );
  }
  if (run.state !== 'succeeded') {
    throw new StellaError('bad_request', `base run ${runId} has no bundle (state ${run.state})`);
  }
}

async function checkPolicyVersion(db: Database, tenant: string, kind: string, version?: string) {
  if (version === undefined) {
    return;
  }
  if (kind !== 'json:policy') {
    throw new StellaError(
      'bad_request',
      `policyVersion applies to json:policy profiles only, not ${kind}`,
    );
  }

  // Throws not_found for a version that was never published.
  await getPolicy(db, tenant, version);
}

function effectiveFilters(
  profileConfig: Record<string, unknown>,
  requested: ExportFilters | undefined,
): ExportFilters {
  const defaults = exportFiltersSchema.parse(profileConfig.filters ?? {});

  return { ...defaults, ...(requested ?? {}) };
}

function sameRequestOrConflict(run: RunRow, requestHash: string): RunRow {
  if (run.requestHash !== requestHash) {
    throw new StellaError('conflict', 'Idempotency-Key was already used for a different request');
  }

  return run;
}

async function startWorkflow(deps: RunStarterDependencies, tenant: string, runId: string) {
  try {
    await deps.temporal.workflow.start(EXPORT_RUN_WORKFLOW, {
      taskQueue: deps.config.taskQueue,
      workflowId: runId,
      args: [{ runId, tenant }],
    });
  } catch (err) {
    await updateRun(deps.db, tenant, runId, {
      state: 'failed',
      errorClass: 'unavailable',
      errorMessage: 'the workflow service could not start the run',
      finishedAt: new Date(),
    });
    throw new StellaError('unavailable', 'the workflow service could not start the run', {
      cause: err,
    });
  }
}
