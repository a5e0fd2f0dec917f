import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { Database } from '../store/database.js';
import { dialectOf, inList, raw, sql } from '../store/sql-dialect.js';
import type { ExportRunInput } from '../workflows/export-run-definitions.js';

export interface RunLimits {
  perTenant: number;
  perProfile: number;
}

// Sized for a two-core worker fleet: a handful of runs per tenant, two per profile.
export const DEFAULT_RUN_LIMITS: RunLimits = { perTenant: 4, perProfile: 2 };

export const RUN_SLOT_BUSY = 'run_slot_busy';

// The states in which a run holds a slot.
export const ACTIVE_STATES = ['planning', 'writing', 'signing', 'distributing'];

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
    const claimed = await claimSlot(db, input, limits).catch(failAfterRepeatedErrors);
    if (claimed) {
      return;
    }

    const row = await db.exportRun.findFirst({ where: { tenant: input.tenant, id: input.runId } });
    if (row && row.state !== 'queued') {
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

// One UPDATE whose condition counts the active runs: SQLite runs it under its single write
// lock; PostgreSQL first takes a transaction-scoped advisory lock on the tenant, because
// under READ COMMITTED two claims could otherwise both see room for one more.
async function claimSlot(db: Database, input: ExportRunInput, limits: RunLimits) {
  const run = await db.exportRun.findFirst({
    where: { tenant: input.tenant, id: input.runId },
    select: { profileId: true },
  });
  if (!run) {
    return false;
  }

  const update = claimStatement(input, run.profileId, limits);
  if (dialectOf(db) === 'sqlite') {
    return (await db.$executeRaw(update)) === 1;
  }
  const [, changed] = await db.$transaction([
    // executeRaw: the lock function returns `void`, which the query layer cannot read back.
    db.$executeRaw`SELECT pg_advisory_xact_lock(hashtext(${input.tenant}))`,
    db.$executeRaw(update),
  ]);

  return changed === 1;
}

function claimStatement(input: ExportRunInput, profileId: string, limits: RunLimits) {
  const active = inList(raw('"state"'), ACTIVE_STATES);

  return sql`UPDATE "export_runs" SET "state" = 'planning'
    WHERE "tenant" = ${input.tenant} AND "id" = ${input.runId} AND "state" = 'queued'
    AND (SELECT COUNT(*) FROM "export_runs" WHERE "tenant" = ${input.tenant} AND ${active})
      < ${limits.perTenant}
    AND (SELECT COUNT(*) FROM "export_runs"
      WHERE "tenant" = ${input.tenant} AND "profileId" = ${profileId} AND ${active})
      < ${limits.perProfile}`;
}

function positiveOr(text: string | undefined, fallback: number): number {
  const value = Number(text);

  return Number.isInteger(value) && value > 0 ? value : fallback;
}
