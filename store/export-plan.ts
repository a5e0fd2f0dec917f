import type { ExportFilters, RecordKind } from '../domain/filters.js';
import { includes } from '../domain/filters.js';
import type { Database } from './database.js';
import {
  and,
  byteOrder,
  containsText,
  dialectOf,
  inList,
  join,
  raw,
  sql,
  timestampParam,
  type Dialect,
  type Sql,
} from './sql-dialect.js';

export type InputKind = 'advisory' | 'vex' | 'sbom';

export type PlanCounts = {
  advisories: number;
  vexStatements: number;
  sboms: number;
  documents: number;
};

// Resolves a run's filters into the exact set of records it exports and persists that
// snapshot, so a retried or resumed run sees the same set whatever was ingested meanwhile.
// A second call for the same run returns the stored snapshot. The selection runs inside the
// database (INSERT … SELECT), so planning a million records moves no rows through Node.
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

  const dialect = dialectOf(db);
  const statements = snapshotStatements(dialect, tenant, runId, filters);
  await db.$transaction(
    async (tx) => {
      const restoreCache = dialect === 'sqlite' ? await widenSqliteCache(tx) : undefined;
      try {
        for (const statement of statements) {
          await tx.$executeRaw(statement);
        }
      } finally {
        await restoreCache?.();
      }
    },
    { timeout: 600_000, maxWait: 30_000 },
  );

  return countPlannedInputs(db, tenant, runId);
}

// A snapshot inserts its rows in plan order, so the (recordId) and (documentSha256) indexes
// of export_inputs take them in random order; with SQLite's default 2 MB page cache every
// insert re-reads index pages from the OS. A bigger cache for the planning transaction keeps
// them in memory: it is allocated only as pages are used, and given back afterwards.
const PLAN_CACHE_KIB = 131_072;

type Transaction = Pick<Database, '$queryRawUnsafe' | '$executeRawUnsafe'>;

async function widenSqliteCache(tx: Transaction): Promise<() => Promise<void>> {
  const [current] = await tx.$queryRawUnsafe<{ cache_size: number | bigint }[]>('PRAGMA cache_size');
  await tx.$executeRawUnsafe(`PRAGMA cache_size = -${PLAN_CACHE_KIB}`);

  return async () => {
    await tx.$executeRawUnsafe(`PRAGMA cache_size = ${Number(current.cache_size)}`);
  };
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
  const [{ documents }] = await db.$queryRaw<{ documents: number | bigint }[]>(sql`
    SELECT COUNT(DISTINCT "documentSha256") AS documents FROM "export_inputs"
    WHERE "tenant" = ${tenant} AND "runId" = ${runId}`);

  return {
    advisories: count('advisory'),
    vexStatements: count('vex'),
    sboms: count('sbom'),
    documents: Number(documents),
  };
}

function snapshotStatements(
  dialect: Dialect,
  tenant: string,
  runId: string,
  filters: ExportFilters,
): Sql[] {
  const wanted = (kind: RecordKind) => includes(filters, kind);
  const statements: Sql[] = [];
  if (wanted('advisories')) {
    statements.push(advisorySnapshot(dialect, tenant, runId, filters));
  }
  if (wanted('vex')) {
    statements.push(vexSnapshot(dialect, tenant, runId, filters));
  }
  if (wanted('sboms')) {
    statements.push(sbomSnapshot(dialect, tenant, runId, filters));
  }

  return statements;
}

// One snapshot statement per record kind: the matching rows, numbered in plan order, with
// the hash of the raw document each came from. Orders are total (the row id breaks ties) and
// compare bytes, so the same evidence always plans the same sequence, and with it the same
// bundle bytes.
interface SnapshotSource {
  kind: InputKind;
  table: string;
  alias: string;
  orderBy: string[];
  conditions: (Sql | undefined)[];
}

function snapshotInsert(dialect: Dialect, tenant: string, runId: string, from: SnapshotSource): Sql {
  const c = byteOrder(dialect);
  const column = (name: string) => raw(`${from.alias}."${name}"`);
  const order = join(
    [...from.orderBy, 'id'].map((name) => sql`${column(name)}${c}`),
    ', ',
  );

  return sql`
    INSERT INTO "export_inputs" ("runId", "tenant", "kind", "ordinal", "recordId", "documentSha256")
    SELECT ${runId}, ${tenant}, ${from.kind}, ROW_NUMBER() OVER (ORDER BY ${order}) - 1,
      ${column('id')}, d."sha256"
    FROM ${raw(`"${from.table}" ${from.alias}`)} JOIN "raw_documents" d ON d."id" = ${column('documentId')}
    WHERE ${and([sql`${column('tenant')} = ${tenant}`, ...from.conditions])}`;
}

function advisorySnapshot(dialect: Dialect, tenant: string, runId: string, f: ExportFilters) {
  return snapshotInsert(dialect, tenant, runId, {
    kind: 'advisory',
    table: 'advisories',
    alias: 'a',
    orderBy: ['advisoryId', 'sha256'],
    conditions: [
      f.since ? sql`a."modified" >= ${timestampParam(dialect, f.since)}` : undefined,
      f.until ? sql`a."modified" <= ${timestampParam(dialect, f.until)}` : undefined,
      f.includeWithdrawn === false ? sql`a."withdrawn" IS NULL` : undefined,
      affectedPackage(f),
      f.advisoryIds ? idOrAlias(dialect, f.advisoryIds) : undefined,
      f.excludeAdvisoryIds ? sql`NOT ${inList(sql`a."advisoryId"`, f.excludeAdvisoryIds)}` : undefined,
    ],
  });
}

function affectedPackage(f: ExportFilters): Sql | undefined {
  if (!f.ecosystems && !f.packages) {
    return undefined;
  }

  return sql`EXISTS (SELECT 1 FROM "advisory_affected" p WHERE ${and([
    sql`p."advisoryRow" = a."id"`,
    f.ecosystems ? inList(sql`p."ecosystem"`, f.ecosystems) : undefined,
    f.packages
      ? sql`(${inList(sql`p."packageName"`, f.packages)} OR ${inList(sql`p."purl"`, f.packages)})`
      : undefined,
  ])})`;
}

function idOrAlias(dialect: Dialect, ids: string[]): Sql {
  const conditions = [
    inList(sql`a."advisoryId"`, ids),
    ...ids.map((id) => containsText(dialect, sql`a."aliases"`, JSON.stringify(id))),
  ];

  return sql`(${join(conditions, ' OR ')})`;
}

function vexSnapshot(dialect: Dialect, tenant: string, runId: string, f: ExportFilters) {
  return snapshotInsert(dialect, tenant, runId, {
    kind: 'vex',
    table: 'vex_statements',
    alias: 'v',
    orderBy: ['vulnerability', 'product', 'sha256'],
    conditions: [
      f.since ? sql`v."timestamp" >= ${timestampParam(dialect, f.since)}` : undefined,
      f.until ? sql`v."timestamp" <= ${timestampParam(dialect, f.until)}` : undefined,
      f.vulnerabilities ? inList(sql`v."vulnerability"`, f.vulnerabilities) : undefined,
      f.products ? inList(sql`v."product"`, f.products) : undefined,
    ],
  });
}

function sbomSnapshot(dialect: Dialect, tenant: string, runId: string, f: ExportFilters) {
  return snapshotInsert(dialect, tenant, runId, {
    kind: 'sbom',
    table: 'sboms',
    alias: 's',
    orderBy: ['subject', 'sha256'],
    conditions: [
      f.products ? inList(sql`s."subject"`, f.products) : undefined,
      f.imageDigests ? inList(sql`s."imageDigest"`, f.imageDigests) : undefined,
      f.repositories ? inList(sql`s."repository"`, f.repositories) : undefined,
      f.tags ? inList(sql`s."tag"`, f.tags) : undefined,
    ],
  });
}
