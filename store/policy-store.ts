import { StellaError } from '../domain/errors.js';
import type { Database } from './database.js';
import { sha256Hex } from './evidence-store.js';

// Published policy versions (table `policies`). A version is immutable: publishing the same
// bytes again is a no-op, other bytes under a published version are refused.

export interface PolicyRecord {
  version: string;
  document: string;
  sha256: string;
  createdAt: string;
}

export type PolicySummary = Omit<PolicyRecord, 'document'>;

export async function publishPolicy(
  db: Database,
  tenant: string,
  input: { version: string; document: string; now?: Date },
): Promise<{ policy: PolicyRecord; created: boolean }> {
  const sha256 = sha256Hex(input.document);
  const existing = await findPolicy(db, tenant, input.version);
  if (existing) {
    return { policy: sameOrConflict(existing, sha256), created: false };
  }

  try {
    const row = await db.policy.create({
      data: {
        tenant,
        version: input.version,
        document: input.document,
        sha256,
        createdAt: input.now ?? new Date(),
      },
    });

    return { policy: toRecord(row), created: true };
  } catch (err) {
    // Another publish of the same version won the race.
    const winner = await findPolicy(db, tenant, input.version);
    if (!winner) {
      throw err;
    }

    return { policy: sameOrConflict(winner, sha256), created: false };
  }
}

// Newest first, by version order (pol-v1.10.0 after pol-v1.9.0), not by publication time.
export async function listPolicies(db: Database, tenant: string): Promise<PolicySummary[]> {
  const rows = await db.policy.findMany({
    where: { tenant },
    select: { version: true, sha256: true, createdAt: true },
  });

  return rows
    .map((row) => ({
      version: row.version,
      sha256: row.sha256,
      createdAt: row.createdAt.toISOString(),
    }))
    .sort((a, b) => comparePolicyVersions(b.version, a.version));
}

export async function getPolicy(
  db: Database,
  tenant: string,
  version: string,
): Promise<PolicyRecord> {
  const policy = await findPolicy(db, tenant, version);
  if (!policy) {
    throw new StellaError('not_found', `policy ${version} not found`);
  }

  return policy;
}

export async function latestPolicy(db: Database, tenant: string): Promise<PolicyRecord | null> {
  const [newest] = await listPolicies(db, tenant);

  return newest ? getPolicy(db, tenant, newest.version) : null;
}

// The policy a run evaluates with: the version it pinned, or else the latest, which is then
// recorded on the run so that a retry, a resume and the provenance all name the same one.
// Call it when the run is planned; a second call returns what the first recorded.
export async function pinRunPolicy(
  db: Database,
  tenant: string,
  runId: string,
): Promise<PolicyRecord> {
  const run = await db.exportRun.findFirst({
    where: { tenant, id: runId },
    select: { policyVersion: true },
  });
  if (!run) {
    throw new StellaError('not_found', `run ${runId} not found`);
  }
  if (run.policyVersion) {
    return getPolicy(db, tenant, run.policyVersion);
  }

  const latest = await latestPolicy(db, tenant);
  if (!latest) {
    throw new StellaError(
      'bad_request',
      'no policy is published for this tenant; publish one first',
    );
  }
  await db.exportRun.updateMany({
    where: { tenant, id: runId, policyVersion: null },
    data: { policyVersion: latest.version },
  });
  const pinned = await db.exportRun.findFirst({
    where: { tenant, id: runId },
    select: { policyVersion: true },
  });

  return getPolicy(db, tenant, pinned?.policyVersion ?? latest.version);
}

// "pol-v1.8.2" → [1, 8, 2]; versions that do not follow the pattern sort before those that do.
export function comparePolicyVersions(a: string, b: string): number {
  const [x, y] = [versionNumbers(a), versionNumbers(b)];
  for (let i = 0; i < 3; i++) {
    if (x[i] !== y[i]) {
      return x[i] - y[i];
    }
  }

  return a < b ? -1 : a > b ? 1 : 0;
}

function versionNumbers(version: string): number[] {
  const match = /^pol-v(\d+)\.(\d+)\.(\d+)$/.exec(version);

  return match ? match.slice(1).map(Number) : [-1, -1, -1];
}

async function findPolicy(
  db: Database,
  tenant: string,
  version: string,
): Promise<PolicyRecord | null> {
  const row = await db.policy.findUnique({ where: { tenant_version: { tenant, version } } });

  return row ? toRecord(row) : null;
}

function sameOrConflict(existing: PolicyRecord, sha256: string): PolicyRecord {
  if (existing.sha256 !== sha256) {
    throw new StellaError(
      'conflict',
      `policy ${existing.version} is already published with other content`,
    );
  }

  return existing;
}

function toRecord(row: {
  version: string;
  document: string;
  sha256: string;
  createdAt: Date;
}): PolicyRecord {
  return {
    version: row.version,
    document: row.document,
    sha256: row.sha256,
    createdAt: row.createdAt.toISOString(),
  };
}
