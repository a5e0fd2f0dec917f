import { Context } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import { WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError } from '@temporalio/common';
import { createRun } from '../api/run-starter.js';
import type { ExportFilters } from '../domain/filters.js';
import type { Logger } from '../platform/logger.js';
import type { StellaConfig } from '../platform/config.js';
import { appendAuditEntry } from '../store/audit-store.js';
import type { Database } from '../store/database.js';
import { getRun, TERMINAL_STATES, type RunRow, type RunState } from '../store/export-store.js';
import { EXPORT_RUN_WORKFLOW } from '../workflows/export-run-definitions.js';
import type { TriggeredRunResult } from '../workflows/export-trigger-definitions.js';
import { asActivityFailure } from './failures.js';
import { keepAlive } from './keep-alive.js';

export interface TriggerDependencies {
  db: Database;
  config: StellaConfig;
  logger: Logger;
}

export interface TriggeredRunInput {
  tenant: string;
  profileId: string;
  filters?: ExportFilters;
  trigger: 'schedule' | 'event';
  // Unique per firing and stable across retries: the run's idempotency key.
  requestId: string;
  // What fired: the schedule id, or the debounced events; kept in the audit log.
  source: Record<string, unknown>;
}

// Schedules and events start runs exactly as the API does (createRun), so every run has its
// export_runs row whatever started it.
export function createTriggerActivities(deps: TriggerDependencies) {
  const { db, config } = deps;

  async function startTriggeredRun(input: TriggeredRunInput): Promise<{ runId: string }> {
    return guarded(deps.logger, async () => {
      const temporal = Context.current().client;
      const request = { profileId: input.profileId, filters: input.filters, trigger: input.trigger };
      const key = `${input.trigger}:${input.requestId}`;
      const { run } = await createRun({ db, temporal, config }, input.tenant, request, key, input.source);
      await ensureStarted(temporal, run);
      await recordTrigger(run, input);

      return { runId: run.id };
    });
  }

  // Lasts as long as the run, so that a schedule's overlap policy sees it as still running.
  async function awaitRunEnd(input: { tenant: string; runId: string }): Promise<TriggeredRunResult> {
    return guarded(deps.logger, async () => {
      const handle = Context.current().client.workflow.getHandle(input.runId);
      await keepAlive(() => handle.result().catch(() => undefined), 5_000);
      const run = await getRun(db, input.tenant, input.runId);

      return { runId: run.id, state: run.state, errorClass: run.errorClass };
    });
  }

  async function cancelRun(input: { tenant: string; runId: string }): Promise<void> {
    const run = await getRun(db, input.tenant, input.runId);
    if (TERMINAL_STATES.includes(run.state as RunState)) {
      return;
    }
    await Context.current()
      .client.workflow.getHandle(run.workflowId)
      .cancel()
      .catch((err: unknown) => {
        if (!(err instanceof WorkflowNotFoundError)) {
          throw err;
        }
      });
  }

  // createRun starts the workflow only when it inserts the row; a retry after a crash
  // between the two finds the row and must start the workflow itself.
  async function ensureStarted(temporal: Client, run: RunRow) {
    if (run.state !== 'queued') {
      return;
    }
    await temporal.workflow
      .start(EXPORT_RUN_WORKFLOW, {
        taskQueue: config.taskQueue,
        workflowId: run.workflowId,
        args: [{ runId: run.id, tenant: run.tenant }],
      })
      .catch((err: unknown) => {
        if (!(err instanceof WorkflowExecutionAlreadyStartedError)) {
          throw err;
        }
      });
  }

  async function recordTrigger(run: RunRow, input: TriggeredRunInput) {
    await appendAuditEntry(db, {
      id: `aud_trigger_${run.id}`,
      tenant: run.tenant,
      actor: input.trigger,
      action: 'run.create',
      target: run.id,
      outcome: 'succeeded',
      details: { trigger: input.trigger, profileId: run.profileId, ...input.source },
    });
  }

  return { startTriggeredRun, awaitRunEnd, cancelRun };
}

export type TriggerActivities = ReturnType<typeof createTriggerActivities>;

async function guarded<T>(logger: Logger, body: () => Promise<T>): Promise<T> {
  try {
    return await body();
  } catch (err) {
    const info = Context.current().info;
    throw asActivityFailure(err, logger.child({ activity: info.activityType, attempt: info.attempt }));
  }
}
