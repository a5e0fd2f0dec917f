import BetterSqlite3 from 'better-sqlite3';
import { StellaError } from '../domain/errors.js';
import { VEX_KEY_SEPARATOR, type MirrorKind } from '../domain/mirror-kinds.js';
import type { Database } from './database.js';
import type { RunRecordSource } from './export-records.js';
import { join, sql, sqliteFileOf, type Sql } from './sql-dialect.js';

// The reads a mirror needs beyond RunRecordSource: records with their slot keys and stored
// hashes, raw bytes of every kind, and the difference between two runs' plans computed
// inside the database, so that a delta's cost follows the change set and not the base.

const PAGE_SIZE = 5_000;
const RAW_PAGE_SIZE = 50;
const LOOKUP_CHUNK = 500;

export interface PlannedRecord {
  ordinal: number;
  key: string; // the slot: advisory id, vulnerability × product, or SBOM subject
  source: string; // advisories: the feed; others: ''
  modified: string | null; // advisories: the record's modified time
  canonical: string;
  sha256: string;
  documentSha256: string;
}

export interface RawDocumentBytes {
  sha256: string;
  mediaType: string;
  format: string;
  bytes: Uint8Array;
}

export interface RunDescription {
  profileId: string;
  profileKind: string;
  filters: Record<string, unknown>;
}

export interface PlanDocument {
  sha256: string;
  kind: MirrorKind;
}

const INPUT_KIND: Record<MirrorKind, string> = { advisories: 'advisory', vex: 'vex', sboms: 'sbom' };
const KIND_BY_RANK: MirrorKind[] = ['advisories', 'vex', 'sboms'];

export class MirrorQueries {
  constructor(
    private readonly db: Database,
    private readonly tenant: string,
  ) {}

  async describeRun(runId: string): Promise<RunDescription> {
    const run = await this.db.exportRun.findFirst({ where: { tenant: this.tenant, id: runId } });
    if (!run) {
      throw new StellaError('not_found', `run ${runId} does not exist`);
    }

    return {
      profileId: run.profileId,
      profileKind: run.profileKind,
      filters: JSON.parse(run.filters) as Record<string, unknown>,
    };
  }

  async hasPlan(runId: string): Promise<boolean> {
    const planned = await this.db.exportInput.findFirst({
      where: { tenant: this.tenant, runId },
      select: { ordinal: true },
    });

    return planned !== null;
  }

  // Every planned record of one kind, in plan order (so records of one slot are adjacent).
  async *planRecords(runId: string, kind: MirrorKind): AsyncGenerator<PlannedRecord> {
    let after = -1;
    for (;;) {
      const rows = await this.db.$queryRaw<PlannedRecord[]>(
        this.recordQuery(runId, kind, sql`i."ordinal" > ${after}`, sql`LIMIT ${PAGE_SIZE}`),
      );
      if (rows.length === 0) {
        return;
      }
      yield* rows.map(normalizeRow);
      after = Number(rows[rows.length - 1].ordinal);
    }
  }

  // The records, in either of two plans, of the slots that differ between them: slots with
  // a record in one plan and not the other. Store rows never change once written (new
  // evidence is a new row), so comparing row ids compares hashes. Each direction of the
  // difference is one ordered merge of the two plans' (kind, recordId) index ranges, which
  // reads index entries only; every later step is an index look-up per changed record, so
  // only the changed slots' records are read, tagged with the plan they belong to.
  async changedSlotRecords(runIds: [string, string], kind: MirrorKind): Promise<(PlannedRecord & { runId: string })[]> {
    const [runId, otherRunId] = runIds;
    const { table } = recordTable(kind);
    const t = this.tenant;
    const keys = slotKeyColumns(kind);
    const rows = await this.rows<PlannedRecord & { runId: string }>(sql`
      WITH "added" AS (${this.recordIdsOnlyIn(runId, otherRunId, kind)}),
        "removed" AS (${this.recordIdsOnlyIn(otherRunId, runId, kind)}),
        "keys" AS (
          SELECT DISTINCT ${join(keys.map((column) => sql`c.${column}`))}
          FROM (SELECT "recordId" FROM "added" UNION ALL SELECT "recordId" FROM "removed") AS x
            CROSS JOIN ${table} c
          WHERE c."id" = x."recordId")
      SELECT i."runId" AS "runId", i."ordinal" AS "ordinal", ${slotKeyColumn(kind)} AS "key",
        ${extraColumns(kind)}, r."canonical" AS "canonical", r."sha256" AS "sha256",
        i."documentSha256" AS "documentSha256"
      FROM "keys" k CROSS JOIN ${table} r CROSS JOIN "export_inputs" i
      WHERE r."tenant" = ${t} AND ${join(keys.map((key) => sql`r.${key} = k.${key}`), ' AND ')}
        AND i."tenant" = ${t} AND i."runId" IN (${join(runIds)}) AND i."kind" = ${INPUT_KIND[kind]}
        AND i."recordId" = r."id"
      ORDER BY i."runId", i."ordinal"`);

    return rows.map((row) => ({ ...normalizeRow(row), runId: row.runId }));
  }

  async countDocuments(runId: string): Promise<number> {
    const [row] = await this.rows<{ documents: number | bigint }>(sql`
      SELECT COUNT(DISTINCT "documentSha256") AS "documents" FROM "export_inputs"
      WHERE "tenant" = ${this.tenant} AND "runId" = ${runId}`);

    return Number(row?.documents ?? 0);
  }

  // The raw documents behind a run's plan, each with the first kind (advisories, vex, sboms)
  // that uses it.
  async planDocuments(runId: string): Promise<PlanDocument[]> {
    const rows = await this.rows<DocumentRow>(sql`
      SELECT "documentSha256" AS "sha256",
        MIN(CASE "kind" WHEN 'advisory' THEN 0 WHEN 'vex' THEN 1 ELSE 2 END) AS "rank"
      FROM "export_inputs"
      WHERE "tenant" = ${this.tenant} AND "runId" = ${runId}
      GROUP BY "documentSha256" ORDER BY "documentSha256"`);

    return rows.map(planDocument);
  }

  // Of the `candidates`, the documents `runId` plans and `otherRunId` does not, each with
  // the first kind that uses it in `runId`. A delta passes the documents of its changed
  // slots' records: a document only one plan uses comes with a record only that plan has,
  // whose slot has changed. Each candidate costs a few index look-ups.
  async documentsOnlyIn(runId: string, otherRunId: string, candidates: string[]): Promise<PlanDocument[]> {
    const found: PlanDocument[] = [];
    for (const chunk of chunks([...new Set(candidates)].sort(), LOOKUP_CHUNK)) {
      const rows = await this.rows<DocumentRow>(this.documentsOnlyInQuery(runId, otherRunId, chunk));
      found.push(...rows.map(planDocument));
    }

    return found;
  }

  // Raw bytes of the given documents, a page at a time, in hash order.
  async *rawDocuments(hashes: string[]): AsyncGenerator<RawDocumentBytes> {
    const sorted = [...hashes].sort();
    for (const chunk of chunks(sorted, RAW_PAGE_SIZE)) {
      yield* await this.db.$queryRaw<RawDocumentBytes[]>(sql`
        SELECT "sha256", "mediaType", "format", "bytes" FROM "raw_documents"
        WHERE "tenant" = ${this.tenant} AND "sha256" IN (${join(chunk)})
        ORDER BY "sha256"`);
    }
  }

  private documentsOnlyInQuery(runId: string, otherRunId: string, hashes: string[]): Sql {
    const planned = (id: string, kind?: string) => sql`EXISTS (SELECT 1 FROM "export_inputs" u
      WHERE u."tenant" = ${this.tenant} AND u."runId" = ${id} AND u."documentSha256" = d."sha256"
        ${kind ? sql`AND u."kind" = ${kind}` : sql``})`;

    return sql`
      SELECT d."sha256" AS "sha256",
        CASE WHEN ${planned(runId, 'advisory')} THEN 0
          WHEN ${planned(runId, 'vex')} THEN 1 ELSE 2 END AS "rank"
      FROM "raw_documents" d
      WHERE d."tenant" = ${this.tenant} AND d."sha256" IN (${join(hashes)})
        AND ${planned(runId)} AND NOT ${planned(otherRunId)}
      ORDER BY d."sha256"`;
  }

  // Ids of the records of one kind that `runId` plans and `otherRunId` does not. The ORDER BY
  // lets SQLite merge the two index ranges instead of filling a temporary table with one of
  // them; its planner keeps it in the CTEs of changedSlotRecords (checked with EXPLAIN QUERY
  // PLAN on SQLite 3.49) but may drop it where the order looks unused.
  private recordIdsOnlyIn(runId: string, otherRunId: string, kind: MirrorKind): Sql {
    const inRun = (id: string) => sql`SELECT "recordId" FROM "export_inputs"
      WHERE "tenant" = ${this.tenant} AND "runId" = ${id} AND "kind" = ${INPUT_KIND[kind]}`;

    return sql`${inRun(runId)} EXCEPT ${inRun(otherRunId)} ORDER BY "recordId"`;
  }

  // Reads rows on the driver itself on SQLite, several times faster than through the query
  // layer for the delta's wide rows (see store/export-records.ts for the same choice).
  private async rows<T>(query: Sql): Promise<T[]> {
    const file = sqliteFileOf(this.db);
    if (!file) {
      return this.db.$queryRaw<T[]>(query);
    }
    const connection = new BetterSqlite3(file, { readonly: true, fileMustExist: true });
    try {
      return connection.prepare(query.sql).all(...query.values) as T[];
    } finally {
      connection.close();
    }
  }

  private recordQuery(runId: string, kind: MirrorKind, where: Sql, limit: Sql = sql``): Sql {
    const { table, alias } = recordTable(kind);

    return sql`
      SELECT i."runId" AS "runId", i."ordinal" AS "ordinal", ${slotKeyColumn(kind)} AS "key",
        ${extraColumns(kind)},
        r."canonical" AS "canonical", r."sha256" AS "sha256",
        i."documentSha256" AS "documentSha256"
      FROM "export_inputs" i
        JOIN ${table} ${alias} ON ${alias}."id" = i."recordId" AND ${alias}."tenant" = i."tenant"
      WHERE i."tenant" = ${this.tenant} AND i."runId" = ${runId}
        AND i."kind" = ${INPUT_KIND[kind]} AND ${where}
      ORDER BY i."ordinal" ${limit}`;
  }
}

// The mirror reads of the run a record source plans, in the same tenant.
export function mirrorQueriesFor(source: RunRecordSource): { queries: MirrorQueries; runId: string } {
  const { db, tenant, runId } = source.scope();

  return { queries: new MirrorQueries(db, tenant), runId };
}

function recordTable(kind: MirrorKind): { table: Sql; alias: Sql } {
  const table = { advisories: sql`"advisories"`, vex: sql`"vex_statements"`, sboms: sql`"sboms"` };

  return { table: table[kind], alias: sql`r` };
}

function extraColumns(kind: MirrorKind): Sql {
  return kind === 'advisories'
    ? sql`r."source" AS "source", r."modified" AS "modified"`
    : sql`'' AS "source", NULL AS "modified"`;
}

// The columns a slot key is made of, as indexed in the record table.
function slotKeyColumns(kind: MirrorKind): Sql[] {
  if (kind === 'advisories') {
    return [sql`"advisoryId"`];
  }

  return kind === 'vex' ? [sql`"vulnerability"`, sql`"product"`] : [sql`"subject"`];
}

function slotKeyColumn(kind: MirrorKind): Sql {
  if (kind === 'advisories') {
    return sql`r."advisoryId"`;
  }
  if (kind === 'vex') {
    return sql`(r."vulnerability" || ${VEX_KEY_SEPARATOR} || r."product")`;
  }

  return sql`r."subject"`;
}

type DocumentRow = { sha256: string; rank: number | bigint };

function planDocument(row: DocumentRow): PlanDocument {
  return { sha256: row.sha256, kind: KIND_BY_RANK[Number(row.rank)] };
}

function normalizeRow(row: PlannedRecord): PlannedRecord {
  const modified = row.modified as unknown;
  const time = modified instanceof Date ? modified.getTime() : modified ? Date.parse(String(modified)) : NaN;

  return {
    ...row,
    ordinal: Number(row.ordinal),
    modified: Number.isNaN(time) ? null : new Date(time).toISOString(),
  };
}

function chunks<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let at = 0; at < items.length; at += size) {
    out.push(items.slice(at, at + size));
  }

  return out;
}
