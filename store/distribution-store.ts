import { StellaError } from '../domain/errors.js';
import type { Database } from './database.js';

// Distributions of runs (download, oci, objstore), always read and written through a tenant.
// Rows keyed by a unique id or (run, type, target) still carry the tenant in their filter, so
// a guessed id of another tenant matches nothing.

export type DistributionRow = NonNullable<
  Awaited<ReturnType<Database['exportDistribution']['findUnique']>>
>;

export interface DistributionKey {
  id: string;
  runId: string;
  type: string;
  target: string;
}

export interface DistributionStateInput {
  state: string;
  errorClass?: string;
  errorMessage?: string;
}

// Creates the pending row of a (run, type, target) or returns the one already there.
export async function ensureDistribution(
  db: Database,
  tenant: string,
  key: DistributionKey,
): Promise<DistributionRow> {
  const now = new Date();

  return db.exportDistribution.upsert({
    where: { runId_type_target: { runId: key.runId, type: key.type, target: key.target }, tenant },
    update: {},
    create: {
      ...key,
      tenant,
      state: 'pending',
      metadata: '{}',
      createdAt: now,
      updatedAt: now,
    },
  });
}

export async function findDistribution(
  db: Database,
  tenant: string,
  id: string,
): Promise<DistributionRow | null> {
  return db.exportDistribution.findUnique({ where: { id, tenant } });
}

export async function getRunDistribution(
  db: Database,
  tenant: string,
  runId: string,
  id: string,
): Promise<DistributionRow> {
  const row = await db.exportDistribution.findFirst({ where: { tenant, runId, id } });
  if (!row) {
    throw new StellaError('not_found', `distribution ${id} not found`);
  }

  return row;
}

export async function listRunDistributions(
  db: Database,
  tenant: string,
  runId: string,
): Promise<DistributionRow[]> {
  return db.exportDistribution.findMany({
    where: { tenant, runId },
    orderBy: { createdAt: 'asc' },
  });
}

// Newest first; the one named by distributionId only, when given.
export async function listSucceededObjstoreDistributions(
  db: Database,
  tenant: string,
  runId: string,
  distributionId?: string,
): Promise<DistributionRow[]> {
  return db.exportDistribution.findMany({
    where: {
      tenant,
      runId,
      type: 'objstore',
      state: 'succeeded',
      ...(distributionId ? { id: distributionId } : {}),
    },
    orderBy: { updatedAt: 'desc' },
  });
}

// The targets of the latest succeeded OCI distributions to one registry, newest first.
export async function listRecentOciTargets(
  db: Database,
  tenant: string,
  registry: string,
  limit: number,
): Promise<string[]> {
  const rows = await db.exportDistribution.findMany({
    where: { tenant, type: 'oci', state: 'succeeded', target: { startsWith: `${registry}/` } },
    orderBy: { updatedAt: 'desc' },
    take: limit,
  });

  return rows.map((row) => row.target);
}

// A retried distribution goes back to pending, but only from failed: a running or
// succeeded row keeps its state.
export async function resetFailedDistribution(
  db: Database,
  tenant: string,
  id: string,
): Promise<void> {
  await db.exportDistribution.updateMany({
    where: { tenant, id, state: 'failed' },
    data: { state: 'pending', errorClass: null, errorMessage: null, updatedAt: new Date() },
  });
}

// The error message is cut to 2000 characters, as the column is meant for a summary.
export async function setDistributionState(
  db: Database,
  tenant: string,
  id: string,
  outcome: DistributionStateInput,
): Promise<void> {
  await db.exportDistribution.updateMany({
    where: { tenant, id },
    data: {
      state: outcome.state,
      errorClass: outcome.errorClass ?? null,
      errorMessage: outcome.errorMessage?.slice(0, 2000) ?? null,
      updatedAt: new Date(),
    },
  });
}

export async function recordDistributionSuccess(
  db: Database,
  tenant: string,
  id: string,
  metadata: Record<string, unknown>,
): Promise<void> {
  await db.exportDistribution.updateMany({
    where: { tenant, id },
    data: {
      state: 'succeeded',
      metadata: JSON.stringify(metadata),
      errorClass: null,
      errorMessage: null,
      updatedAt: new Date(),
    },
  });
}
