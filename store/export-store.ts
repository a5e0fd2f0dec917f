import { StellaError } from '../domain/errors.js';
import { BUILTIN_PROFILES, joinKind, splitKind, type ProfileKind } from '../domain/profiles.js';
import type { Database } from './database.js';

// Profiles, runs and distributions, always read and written through a tenant. No function
// here takes a bare id without its tenant, so no code path can reach another tenant's rows.

export { TERMINAL_STATES, type RunState } from '../domain/run-states.js';

export interface ProfileView {
  id: string;
  name: string;
  kind: ProfileKind;
  config: Record<string, unknown>;
  builtin: boolean;
  createdAt: string;
  updatedAt: string;
}

// Tenants whose built-in profiles this process has already seen in a database: built-ins are
// never deleted, so one check per tenant and process saves a query on every profile read.
const seededTenants = new WeakMap<Database, Set<string>>();

export async function ensureBuiltinProfiles(db: Database, tenant: string): Promise<void> {
  const seeded = seededTenants.get(db) ?? new Set<string>();
  seededTenants.set(db, seeded);
  if (seeded.has(tenant)) {
    return;
  }

  const existing = await db.exportProfile.count({ where: { tenant, builtin: true } });
  if (existing < BUILTIN_PROFILES.length) {
    await seedBuiltinProfiles(db, tenant);
  }
  seeded.add(tenant);
}

async function seedBuiltinProfiles(db: Database, tenant: string): Promise<void> {
  const now = new Date(0);
  for (const profile of BUILTIN_PROFILES) {
    const { kind, variant } = splitKind(profile.kind);
    await db.exportProfile.upsert({
      where: { tenant_id: { tenant, id: profile.id } },
      update: {},
      create: {
        tenant,
        id: profile.id,
        name: profile.name,
        kind,
        variant,
        config: '{}',
        builtin: true,
        createdAt: now,
        updatedAt: now,
      },
    });
  }
}

export async function listProfiles(
  db: Database,
  tenant: string,
  filter: { kind?: string; variant?: string } = {},
): Promise<ProfileView[]> {
  await ensureBuiltinProfiles(db, tenant);
  const rows = await db.exportProfile.findMany({
    where: { tenant, kind: filter.kind, variant: filter.variant },
    orderBy: { id: 'asc' },
  });

  return rows.map(toProfileView);
}

export async function getProfile(db: Database, tenant: string, id: string): Promise<ProfileView> {
  await ensureBuiltinProfiles(db, tenant);
  const row = await db.exportProfile.findUnique({ where: { tenant_id: { tenant, id } } });
  if (!row) {
    throw new StellaError('not_found', `profile ${id} not found`);
  }

  return toProfileView(row);
}

export async function createProfile(
  db: Database,
  tenant: string,
  input: { id: string; name: string; kind: ProfileKind; config: Record<string, unknown> },
): Promise<ProfileView> {
  await ensureBuiltinProfiles(db, tenant);
  const { kind, variant } = splitKind(input.kind);
  const now = new Date();
  const clash = await db.exportProfile.findUnique({
    where: { tenant_id: { tenant, id: input.id } },
  });
  if (clash) {
    throw new StellaError('conflict', `profile ${input.id} already exists`);
  }

  const row = await db.exportProfile.create({
    data: {
      tenant,
      id: input.id,
      name: input.name,
      kind,
      variant,
      config: JSON.stringify(input.config),
      createdAt: now,
      updatedAt: now,
    },
  });

  return toProfileView(row);
}

export async function updateProfile(
  db: Database,
  tenant: string,
  id: string,
  patch: { name?: string; config?: Record<string, unknown> },
): Promise<ProfileView> {
  const current = await getProfile(db, tenant, id);
  if (current.builtin) {
    throw new StellaError('denied', `built-in profile ${id} cannot be changed; create your own`);
  }

  const row = await db.exportProfile.update({
    where: { tenant_id: { tenant, id } },
    data: {
      name: patch.name,
      config: patch.config ? JSON.stringify(patch.config) : undefined,
      updatedAt: new Date(),
    },
  });

  return toProfileView(row);
}

export async function deleteProfile(db: Database, tenant: string, id: string): Promise<void> {
  const current = await getProfile(db, tenant, id);
  if (current.builtin) {
    throw new StellaError('denied', `built-in profile ${id} cannot be deleted`);
  }

  await db.exportProfile.delete({ where: { tenant_id: { tenant, id } } });
}

function toProfileView(row: {
  id: string;
  name: string;
  kind: string;
  variant: string;
  config: string;
  builtin: boolean;
  createdAt: Date;
  updatedAt: Date;
}): ProfileView {
  return {
    id: row.id,
    name: row.name,
    kind: joinKind(row.kind, row.variant),
    config: JSON.parse(row.config) as Record<string, unknown>,
    builtin: row.builtin,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}

export type RunRow = NonNullable<Awaited<ReturnType<Database['exportRun']['findUnique']>>>;

export async function getRun(db: Database, tenant: string, runId: string): Promise<RunRow> {
  const row = await db.exportRun.findFirst({ where: { tenant, id: runId } });
  if (!row) {
    throw new StellaError('not_found', `run ${runId} not found`);
  }

  return row;
}

export async function findRunByIdempotencyKey(
  db: Database,
  tenant: string,
  idempotencyKey: string,
): Promise<RunRow | null> {
  return db.exportRun.findUnique({
    where: { tenant_idempotencyKey: { tenant, idempotencyKey } },
  });
}

export interface RunListFilter {
  state?: string;
  profileId?: string;
  createdAfter?: Date;
  createdBefore?: Date;
  limit: number;
}

export async function listRuns(db: Database, tenant: string, filter: RunListFilter) {
  return db.exportRun.findMany({
    where: {
      tenant,
      state: filter.state,
      profileId: filter.profileId,
      createdAt: { gte: filter.createdAfter, lte: filter.createdBefore },
    },
    orderBy: { createdAt: 'desc' },
    take: filter.limit,
  });
}

export async function updateRun(
  db: Database,
  tenant: string,
  runId: string,
  data: Parameters<Database['exportRun']['update']>[0]['data'],
): Promise<void> {
  const { count } = await db.exportRun.updateMany({ where: { tenant, id: runId }, data });
  if (count === 0) {
    throw new StellaError('not_found', `run ${runId} not found`);
  }
}

export type RunCreateData = Omit<Parameters<Database['exportRun']['create']>[0]['data'], 'tenant'>;

// False when the row clashes with a unique key (an idempotency key raced by another request).
export async function insertRun(
  db: Database,
  tenant: string,
  data: RunCreateData,
): Promise<boolean> {
  try {
    await db.exportRun.create({ data: { ...data, tenant } });

    return true;
  } catch (err) {
    if ((err as { code?: string }).code === 'P2002') {
      return false;
    }
    throw err;
  }
}

export interface PublishedRunInput {
  runId: string;
  bundleDir: string;
  archivePath: string;
  archive: { sha256: string; size: number };
  manifestPath: string;
  manifestSha256: string;
  signaturePath: string;
  provenancePath: string;
}

// One transaction: a succeeded run always has its download distribution, and the other way
// round.
export async function recordRunPublished(
  db: Database,
  tenant: string,
  input: PublishedRunInput,
): Promise<void> {
  const now = new Date();
  const where = { tenant, id: input.runId };
  await db.$transaction([
    db.exportRun.updateMany({ where, data: publishedRunData(input, now) }),
    upsertDownloadDistribution(db, tenant, input, now),
  ]);
}

function publishedRunData(input: PublishedRunInput, now: Date) {
  return {
    state: 'succeeded',
    bundleDir: input.bundleDir,
    artifactUri: `file://${input.archivePath}`,
    artifactSha256: input.archive.sha256,
    sizeBytes: BigInt(input.archive.size),
    manifestUri: `file://${input.manifestPath}`,
    manifestSha256: input.manifestSha256,
    signatureUri: `file://${input.signaturePath}`,
    provenanceUri: `file://${input.provenancePath}`,
    finishedAt: now,
  };
}

function upsertDownloadDistribution(
  db: Database,
  tenant: string,
  input: PublishedRunInput,
  now: Date,
) {
  const target = input.archivePath;

  return db.exportDistribution.upsert({
    where: { runId_type_target: { runId: input.runId, type: 'download', target }, tenant },
    update: { state: 'succeeded', updatedAt: now },
    create: {
      id: `dist_${input.runId}_download`,
      tenant,
      runId: input.runId,
      type: 'download',
      target,
      state: 'succeeded',
      metadata: JSON.stringify({ sha256: input.archive.sha256, size: input.archive.size }),
      createdAt: now,
      updatedAt: now,
    },
  });
}
