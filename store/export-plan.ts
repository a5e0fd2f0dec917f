import type { ExportFilters, RecordKind } from '../domain/filters.js';
import { includes } from '../domain/filters.js';
import type { Database } from './database.js';

export type InputKind = 'advisory' | 'vex' | 'sbom';

export type PlanCounts = {
  advisories: number;
  vexStatements: number;
  sboms: number;
  documents: number;
};

const PAGE_SIZE = 5_000;

// Resolves a run's filters into the exact set of records it exports and persists that
// snapshot, so a retried or resumed run sees the same set whatever was ingested meanwhile.
// A second call for the same run returns the stored snapshot.
export async function planRunInputs(
  db: Database,
  tenant: string,
  runId: string,
  filters: ExportFilters,
): Promise<PlanCounts> {
  const planned = await db.exportInput.count({ where: { tenant, runId } });
  if (planned > 0) {
    return countPlannedInputs(db, tenant, runId);
  }

  await db.$transaction(
    async (tx) => {
      const scoped = tx as unknown as Database;
      await snapshot(scoped, tenant, runId, 'advisory', filters, 'advisories');
      await snapshot(scoped, tenant, runId, 'vex', filters, 'vex');
      await snapshot(scoped, tenant, runId, 'sbom', filters, 'sboms');
    },
    { timeout: 600_000, maxWait: 30_000 },
  );

  return countPlannedInputs(db, tenant, runId);
}

export async function countPlannedInputs(
  db: Database,
  tenant: string,
  runId: string,
): Promise<PlanCounts> {
  const groups = await db.exportInput.groupBy({
    by: ['kind'],
    where: { tenant, runId },
    _count: { _all: true },
  });
  const count = (kind: InputKind) => groups.find((g) => g.kind === kind)?._count._all ?? 0;
  const documents = await db.exportInput.findMany({
    where: { tenant, runId },
    distinct: ['documentSha256'],
    select: { documentSha256: true },
  });

  return {
    advisories: count('advisory'),
    vexStatements: count('vex'),
    sboms: count('sbom'),
    documents: documents.length,
  };
}

async function snapshot(
  db: Database,
  tenant: string,
  runId: string,
  kind: InputKind,
  filters: ExportFilters,
  recordKind: RecordKind,
): Promise<void> {
  if (!includes(filters, recordKind)) {
    return;
  }

  let ordinal = 0;
  for await (const page of pagesOf(db, tenant, kind, filters)) {
    await db.exportInput.createMany({
      data: page.map((row) => ({
        runId,
        tenant,
        kind,
        ordinal: ordinal++,
        recordId: row.id,
        documentSha256: row.document.sha256,
      })),
    });
  }
}

type PlannedRow = { id: string; document: { sha256: string } };

async function* pagesOf(
  db: Database,
  tenant: string,
  kind: InputKind,
  filters: ExportFilters,
): AsyncGenerator<PlannedRow[]> {
  let cursor: string | undefined;
  for (;;) {
    const page = await findPage(db, tenant, kind, filters, cursor);
    if (page.length === 0) {
      return;
    }
    yield page;
    cursor = page[page.length - 1].id;
  }
}

function findPage(
  db: Database,
  tenant: string,
  kind: InputKind,
  filters: ExportFilters,
  cursor: string | undefined,
): Promise<PlannedRow[]> {
  const paging = {
    take: PAGE_SIZE,
    ...(cursor ? { skip: 1, cursor: { id: cursor } } : {}),
    select: { id: true, document: { select: { sha256: true } } },
  };
  // Orders are total (the id breaks ties) so that the same evidence always plans the same
  // sequence, and with it the same bytes.
  if (kind === 'advisory') {
    return db.advisory.findMany({
      where: advisoryWhere(tenant, filters),
      orderBy: [{ advisoryId: 'asc' }, { sha256: 'asc' }, { id: 'asc' }],
      ...paging,
    });
  }
  if (kind === 'vex') {
    return db.vexStatement.findMany({
      where: vexWhere(tenant, filters),
      orderBy: [{ vulnerability: 'asc' }, { product: 'asc' }, { sha256: 'asc' }, { id: 'asc' }],
      ...paging,
    });
  }

  return db.sbom.findMany({
    where: sbomWhere(tenant, filters),
    orderBy: [{ subject: 'asc' }, { sha256: 'asc' }, { id: 'asc' }],
    ...paging,
  });
}

function advisoryWhere(tenant: string, filters: ExportFilters) {
  const byPackage = filters.ecosystems || filters.packages;

  return {
    tenant,
    modified: window(filters),
    withdrawn: filters.includeWithdrawn === false ? null : undefined,
    affected: byPackage
      ? {
          some: {
            ecosystem: filters.ecosystems ? { in: filters.ecosystems } : undefined,
            OR: filters.packages
              ? [{ packageName: { in: filters.packages } }, { purl: { in: filters.packages } }]
              : undefined,
          },
        }
      : undefined,
    OR: filters.advisoryIds ? idOrAlias(filters.advisoryIds) : undefined,
    advisoryId: filters.excludeAdvisoryIds ? { notIn: filters.excludeAdvisoryIds } : undefined,
  };
}

function vexWhere(tenant: string, filters: ExportFilters) {
  return {
    tenant,
    timestamp: window(filters),
    vulnerability: filters.vulnerabilities ? { in: filters.vulnerabilities } : undefined,
    product: filters.products ? { in: filters.products } : undefined,
  };
}

function sbomWhere(tenant: string, filters: ExportFilters) {
  return {
    tenant,
    subject: filters.products ? { in: filters.products } : undefined,
    imageDigest: filters.imageDigests ? { in: filters.imageDigests } : undefined,
    repository: filters.repositories ? { in: filters.repositories } : undefined,
    tag: filters.tags ? { in: filters.tags } : undefined,
  };
}

function window(filters: ExportFilters) {
  if (!filters.since && !filters.until) {
    return undefined;
  }

  return {
    gte: filters.since ? new Date(filters.since) : undefined,
    lte: filters.until ? new Date(filters.until) : undefined,
  };
}

function idOrAlias(ids: string[]) {
  return [
    { advisoryId: { in: ids } },
    ...ids.map((id) => ({ aliases: { contains: JSON.stringify(id) } })),
  ];
}
