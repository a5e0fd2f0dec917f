import { StellaError } from '../../domain/errors.js';
import type { Database } from '../../store/database.js';
import type { RunRecordSource } from '../../store/export-records.js';
import { join, sql, type Sql } from '../../store/sql-dialect.js';
import { VEX_KEY_SEPARATOR, type MirrorKind } from './mirror-layout.js';

// The reads a mirror needs beyond RunRecordSource: records with their slot keys and stored
// hashes, raw bytes of every kind, and the difference between two runs' plans computed
// inside the database, so that a delta's cost follows the change set and not the base.
//
// Known shortcoming: these queries belong in store/ (the only code meant to talk to the
// database), and RunRecordSource keeps its database handle private. Until store/ offers
// them, `mirrorQueriesFor` reads the fields the record source was built with.

const PAGE_SIZE = 5_000;
const RAW_PAGE_SIZE = 50;

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
  // evidence is a new row), so comparing row ids compares hashes. The comparison is one
  // grouped pass over both plans inside the database; only the changed slots' records come
  // back, tagged with the plan they belong to.
  async changedSlotRecords(runIds: [string, string], kind: MirrorKind): Promise<(PlannedRecord & { runId: string })[]> {
    const { table } = recordTable(kind);
    const inBoth = sql`"tenant" = ${this.tenant} AND "runId" IN (${join(runIds)}) AND "kind" = ${INPUT_KIND[kind]}`;
    const changedKeys = sql`SELECT ${slotKeyColumn(kind)} FROM (
        SELECT "recordId" FROM "export_inputs" WHERE ${inBoth}
        GROUP BY "recordId" HAVING COUNT(*) = 1) AS c
      JOIN ${table} r ON r."id" = c."recordId"`; // the ids came from this tenant's plans
    const rows = await this.db.$queryRaw<(PlannedRecord & { runId: string })[]>(
      this.recordQuery(runIds, kind, sql`${slotKeyColumn(kind)} IN (${changedKeys})`),
    );

    return rows.map((row) => ({ ...normalizeRow(row), runId: row.runId }));
  }

  async countDocuments(runId: string): Promise<number> {
    const [row] = await this.db.$queryRaw<{ documents: number | bigint }[]>(sql`
      SELECT COUNT(DISTINCT "documentSha256") AS "documents" FROM "export_inputs"
      WHERE "tenant" = ${this.tenant} AND "runId" = ${runId}`);

    return Number(row?.documents ?? 0);
  }

  // The raw documents behind a run's plan, each with the first kind (advisories, vex, sboms)
  // that uses it. With `otherRunId`: only those that plan does not use.
  async planDocuments(runId: string, otherRunId?: string): Promise<PlanDocument[]> {
    const runs = otherRunId ? [runId, otherRunId] : [runId];
    const onlyThisRun = otherRunId
      ? sql`HAVING MIN("runId") = ${runId} AND MAX("runId") = ${runId}`
      : sql``;
    const rows = await this.db.$queryRaw<{ sha256: string; rank: number | bigint }[]>(sql`
      SELECT "documentSha256" AS "sha256",
        MIN(CASE "kind" WHEN 'advisory' THEN 0 WHEN 'vex' THEN 1 ELSE 2 END) AS "rank"
      FROM "export_inputs"
      WHERE "tenant" = ${this.tenant} AND "runId" IN (${join(runs)})
      GROUP BY "documentSha256" ${onlyThisRun} ORDER BY "documentSha256"`);

    return rows.map((row) => ({ sha256: row.sha256, kind: KIND_BY_RANK[Number(row.rank)] }));
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

  private recordQuery(runIds: string | string[], kind: MirrorKind, where: Sql, limit: Sql = sql``): Sql {
    const { table, alias } = recordTable(kind);
    const runs = typeof runIds === 'string' ? [runIds] : runIds;
    const extra = kind === 'advisories'
      ? sql`r."source" AS "source", r."modified" AS "modified"`
      : sql`'' AS "source", NULL AS "modified"`;

    return sql`
      SELECT i."runId" AS "runId", i."ordinal" AS "ordinal", ${slotKeyColumn(kind)} AS "key", ${extra},
        r."canonical" AS "canonical", r."sha256" AS "sha256",
        i."documentSha256" AS "documentSha256"
      FROM "export_inputs" i
        JOIN ${table} ${alias} ON ${alias}."id" = i."recordId" AND ${alias}."tenant" = i."tenant"
      WHERE i."tenant" = ${this.tenant} AND i."runId" IN (${join(runs)})
        AND i."kind" = ${INPUT_KIND[kind]} AND ${where}
      ORDER BY i."ordinal" ${limit}`;
  }
}

// Reaches the database and tenant a RunRecordSource was built with (see the note above).
export function mirrorQueriesFor(source: RunRecordSource): { queries: MirrorQueries; runId: string } {
  const parts = source as unknown as { db?: Database; tenant?: string; runId?: string };
  if (!parts.db || !parts.tenant || !parts.runId) {
    throw new StellaError('internal', 'the record source does not expose its store');
  }

  return { queries: new MirrorQueries(parts.db, parts.tenant), runId: parts.runId };
}

function recordTable(kind: MirrorKind): { table: Sql; alias: Sql } {
  const table = { advisories: sql`"advisories"`, vex: sql`"vex_statements"`, sboms: sql`"sboms"` };

  return { table: table[kind], alias: sql`r` };
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
