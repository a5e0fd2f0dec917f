import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { Database } from '../store/database.js';
import { claimRunSlot, hasLeftQueue, type RunLimits } from '../store/run-slots.js';
import type { ExportRunInput } from '../workflows/export-run-definitions.js';

export type { RunLimits } from '../store/run-slots.js';

// Sized for a two-core worker fleet: a handful of runs per tenant, two per profile.
export const DEFAULT_RUN_LIMITS: RunLimits = { perTenant: 4, perProfile: 2 };

export const RUN_SLOT_BUSY = 'run_slot_busy';

export function loadRunLimits(env: NodeJS.ProcessEnv = process.env): RunLimits {
  return {
    perTenant: positiveOr(env.STELLA_MAX_RUNS_PER_TENANT, DEFAULT_RUN_LIMITS.perTenant),
    perProfile: positiveOr(env.STELLA_MAX_RUNS_PER_PROFILE, DEFAULT_RUN_LIMITS.perProfile),
  };
}

// A run holds a slot while its row is in an active state, so a slot is released by the very
// update that ends the run (abandonRun, recordPublished) and survives worker crashes.
// Known gap: a workflow that is terminated (not cancelled) never settles its row, and its
// slot stays taken until an operator marks the run failed.
export function createRunSlotActivities(deps: { db: Database; limits: RunLimits }) {
  const { db, limits } = deps;

  // Moves the run from queued to planning if its tenant and profile are under their limits;
  // otherwise fails with a retryable RUN_SLOT_BUSY, and the workflow's retry policy is the
  // queue. Running it again after it succeeded is a no-op.
  async function acquireRunSlot(input: ExportRunInput): Promise<void> {
    const claimed = await claimRunSlot(db, input, limits).catch(failAfterRepeatedErrors);
    if (claimed || (await hasLeftQueue(db, input))) {
      return;
    }

    throw ApplicationFailure.retryable(
      `tenant ${input.tenant} is at its limit of concurrent runs`,
      RUN_SLOT_BUSY,
      limits,
    );
  }

  return { acquireRunSlot };
}

// The queue retries without limit, which must not hide a claim that can never succeed (a
// broken database, a bug): an unexpected error ends the run after a few attempts.
function failAfterRepeatedErrors(err: unknown): never {
  if (Context.current().info.attempt < MAX_UNEXPECTED_ATTEMPTS) {
    throw err;
  }

  throw ApplicationFailure.create({
    message: `claiming a run slot keeps failing: ${(err as Error)?.message ?? String(err)}`,
    type: 'export_failed',
    nonRetryable: true,
    cause: err instanceof Error ? err : undefined,
  });
}

const MAX_UNEXPECTED_ATTEMPTS = 10;

export type RunSlotActivities = ReturnType<typeof createRunSlotActivities>;

function positiveOr(text: string | undefined, fallback: number): number {
  const value = Number(text);

  return Number.isInteger(value) && value > 0 ? value : fallback;
}
