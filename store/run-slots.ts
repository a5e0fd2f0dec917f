import type { Database } from './database.js';
import { dialectOf, inList, raw, sql } from './sql-dialect.js';

export interface RunLimits {
  perTenant: number;
  perProfile: number;
}

export interface RunSlotRequest {
  tenant: string;
  runId: string;
}

// The states in which a run holds a slot.
const ACTIVE_STATES = ['planning', 'writing', 'signing', 'distributing'];

// Moves a queued run to planning when its tenant and profile are under their limits, in one
// UPDATE whose condition counts the active runs. SQLite runs it under its single write lock;
// PostgreSQL first takes a transaction-scoped advisory lock on the tenant, because under
// READ COMMITTED two claims could otherwise both see room for one more.
export async function claimRunSlot(
  db: Database,
  request: RunSlotRequest,
  limits: RunLimits,
): Promise<boolean> {
  const run = await db.exportRun.findFirst({
    where: { tenant: request.tenant, id: request.runId },
    select: { profileId: true },
  });
  if (!run) {
    return false;
  }

  const update = claimStatement(request, run.profileId, limits);
  if (dialectOf(db) === 'sqlite') {
    return (await db.$executeRaw(update)) === 1;
  }
  const [, changed] = await db.$transaction([
    // executeRaw: the lock function returns `void`, which the query layer cannot read back.
    db.$executeRaw`SELECT pg_advisory_xact_lock(hashtext(${request.tenant}))`,
    db.$executeRaw(update),
  ]);

  return changed === 1;
}

// True once the run exists and is past the queue: a claim retried after it succeeded.
export async function hasLeftQueue(db: Database, request: RunSlotRequest): Promise<boolean> {
  const row = await db.exportRun.findFirst({
    where: { tenant: request.tenant, id: request.runId },
    select: { state: true },
  });

  return row !== null && row.state !== 'queued';
}

function claimStatement(request: RunSlotRequest, profileId: string, limits: RunLimits) {
  const active = inList(raw('"state"'), ACTIVE_STATES);

  return sql`UPDATE "export_runs" SET "state" = 'planning'
    WHERE "tenant" = ${request.tenant} AND "id" = ${request.runId} AND "state" = 'queued'
    AND (SELECT COUNT(*) FROM "export_runs" WHERE "tenant" = ${request.tenant} AND ${active})
      < ${limits.perTenant}
    AND (SELECT COUNT(*) FROM "export_runs"
      WHERE "tenant" = ${request.tenant} AND "profileId" = ${profileId} AND ${active})
      < ${limits.perProfile}`;
}
