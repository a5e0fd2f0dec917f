import type { NormalizedAdvisory, SbomComponent } from '../domain/records.js';
import type { Database } from './database.js';
import type { InputKind } from './export-plan.js';
import BetterSqlite3 from 'better-sqlite3';
import { join, sql, sqliteFileOf, type Sql } from './sql-dialect.js';

const PAGE_SIZE = 5_000;

export interface SbomDocument {
  subject: string;
  format: string;
  documentSha256: string;
  bytes: Uint8Array;
}

export interface RawInputDocument {
  sha256: string;
  mediaType: string;
  sourceUri: string;
  format: string;
}

// Reads a planned run's records back in plan order, a page at a time, so that writers
// stream whatever the snapshot's size. Each page is one join on the snapshot's ordinal.
export class RunRecordSource {
  constructor(
    private readonly db: Database,
    private readonly tenant: string,
    private readonly runId: string,
  ) {}

  // The store, tenant and run this source reads: for the other store modules that read the
  // same run (store/mirror-queries.ts).
  scope(): { db: Database; tenant: string; runId: string } {
    return { db: this.db, tenant: this.tenant, runId: this.runId };
  }

  advisoryLines(): AsyncGenerator<string> {
    return this.canonicalLines('advisory', sql`"advisories"`);
  }

  vexLines(): AsyncGenerator<string> {
    return this.canonicalLines('vex', sql`"vex_statements"`);
  }

  async *advisories(): AsyncGenerator<NormalizedAdvisory> {
    for await (const line of this.advisoryLines()) {
      yield JSON.parse(line) as NormalizedAdvisory;
    }
  }

  async *sbomDocuments(): AsyncGenerator<SbomDocument> {
    type Row = { ordinal: number; subject: string; format: string; sha256: string; bytes: Uint8Array };
    yield* this.pages<Row, SbomDocument>(
      (after) => sql`
        SELECT i."ordinal" AS "ordinal", s."subject" AS "subject", s."format" AS "format",
          d."sha256" AS "sha256", d."bytes" AS "bytes"
        FROM "export_inputs" i
        JOIN "sboms" s ON s."id" = i."recordId" AND s."tenant" = i."tenant"
        JOIN "raw_documents" d ON d."id" = s."documentId"
        WHERE i."tenant" = ${this.tenant} AND i."runId" = ${this.runId} AND i."kind" = 'sbom'
          AND i."ordinal" > ${after}
        ORDER BY i."ordinal" LIMIT 50`,
      (row) => ({ subject: row.subject, format: row.format, documentSha256: row.sha256, bytes: row.bytes }),
    );
  }

  // Every component of the planned SBOMs, in plan order then document order.
  async *sbomComponents(): AsyncGenerator<SbomComponent> {
    type Row = { ordinal: number; purl: string | null; name: string; version: string | null; type: string | null; hashes: string };
    for await (const sbomId of this.plannedSbomIds()) {
      const rows = await this.db.$queryRaw<Row[]>(sql`
        SELECT c."ordinal" AS "ordinal", c."purl" AS "purl", c."name" AS "name",
          c."version" AS "version", c."type" AS "type", c."hashes" AS "hashes"
        FROM "sbom_components" c
        WHERE c."tenant" = ${this.tenant} AND c."sbomId" = ${sbomId}
        ORDER BY c."ordinal"`);
      for (const row of rows) {
        yield {
          purl: row.purl ?? undefined,
          name: row.name,
          version: row.version ?? undefined,
          type: row.type ?? undefined,
          hashes: JSON.parse(row.hashes) as SbomComponent['hashes'],
        };
      }
    }
  }

  // The newest `modified` time among the planned advisories: a clock value derived from the
  // evidence, so that formats that need a date stay reproducible.
  async latestAdvisoryModified(): Promise<Date | null> {
    const [row] = await this.db.$queryRaw<{ latest: string | Date | null }[]>(sql`
      SELECT MAX(a."modified") AS "latest"
      FROM "export_inputs" i JOIN "advisories" a ON a."id" = i."recordId" AND a."tenant" = i."tenant"
      WHERE i."tenant" = ${this.tenant} AND i."runId" = ${this.runId} AND i."kind" = 'advisory'`);

    return row?.latest ? new Date(row.latest) : null;
  }

  private async *plannedSbomIds(): AsyncGenerator<string> {
    const rows = await this.db.exportInput.findMany({
      where: { tenant: this.tenant, runId: this.runId, kind: 'sbom' },
      orderBy: { ordinal: 'asc' },
      select: { recordId: true },
    });
    yield* rows.map((row) => row.recordId);
  }

  // The raw documents behind the planned records (of some kinds, or all), by hash.
  async inputDocuments(kinds?: InputKind[]): Promise<RawInputDocument[]> {
    const byKind = kinds ? sql`AND i."kind" IN (${join(kinds)})` : sql``;

    return this.db.$queryRaw<RawInputDocument[]>(sql`
      SELECT d."sha256" AS "sha256", d."mediaType" AS "mediaType", d."sourceUri" AS "sourceUri",
        d."format" AS "format"
      FROM "raw_documents" d
      WHERE d."tenant" = ${this.tenant} AND d."sha256" IN (
        SELECT i."documentSha256" FROM "export_inputs" i
        WHERE i."tenant" = ${this.tenant} AND i."runId" = ${this.runId} ${byKind})
      ORDER BY d."sha256"`);
  }

  private canonicalLines(kind: InputKind, table: Sql): AsyncGenerator<string> {
    const sqliteFile = sqliteFileOf(this.db);
    if (sqliteFile) {
      return streamCanonicalFromSqlite(sqliteFile, this.tenant, this.runId, kind, table);
    }

    return this.pages<{ ordinal: number; canonical: string }, string>(
      (after) => sql`
        SELECT i."ordinal" AS "ordinal", r."canonical" AS "canonical"
        FROM "export_inputs" i JOIN ${table} r ON r."id" = i."recordId" AND r."tenant" = i."tenant"
        WHERE i."tenant" = ${this.tenant} AND i."runId" = ${this.runId} AND i."kind" = ${kind}
          AND i."ordinal" > ${after}
        ORDER BY i."ordinal" LIMIT ${PAGE_SIZE}`,
      (row) => row.canonical,
    );
  }

  private async *pages<Row extends { ordinal: number }, T>(
    query: (after: number) => Sql,
    map: (row: Row) => T,
  ): AsyncGenerator<T> {
    let after = -1;
    for (;;) {
      const rows = await this.db.$queryRaw<Row[]>(query(after));
      if (rows.length === 0) {
        return;
      }
      for (const row of rows) {
        yield map(row);
      }
      after = Number(rows[rows.length - 1].ordinal);
    }
  }
}

// The hot path on SQLite: one read-only statement iterated row by row on the driver itself,
// several times faster than pages through the query layer. WAL mode lets it read while
// other processes write; memory holds one row at a time.
async function* streamCanonicalFromSqlite(
  file: string,
  tenant: string,
  runId: string,
  kind: InputKind,
  table: Sql,
): AsyncGenerator<string> {
  const connection = new BetterSqlite3(file, { readonly: true, fileMustExist: true });
  try {
    const statement = connection
      .prepare(
        `SELECT r."canonical" FROM "export_inputs" i
         JOIN ${table.sql} r ON r."id" = i."recordId" AND r."tenant" = i."tenant"
         WHERE i."tenant" = ? AND i."runId" = ? AND i."kind" = ?
         ORDER BY i."ordinal"`,
      )
      .pluck();
    for (const canonical of statement.iterate(tenant, runId, kind)) {
      yield canonical as string;
    }
  } finally {
    connection.close();
  }
}
