import type { Database } from './database.js';
import type { RunRecordSource } from './export-records.js';
import { sql, type Sql } from './sql-dialect.js';

const PAGE_SIZE = 5_000;

// One component of one planned SBOM, with the SBOM it came from.
export interface PlannedComponent {
  sbomOrdinal: number;
  sbomSubject: string;
  sbomDocumentSha256: string;
  ordinal: number;
  purl?: string;
  name: string;
  version?: string;
}

// The rows the policy adapter reads beyond RunRecordSource: components of the planned SBOMs
// (in plan order, then document order). Every query is scoped by tenant and run through
// `export_inputs`.
export class PolicyInputSource {
  constructor(
    readonly db: Database,
    readonly tenant: string,
    readonly runId: string,
  ) {}

  async *components(): AsyncGenerator<PlannedComponent> {
    let after = { sbom: -1, component: -1 };
    for (;;) {
      const rows = await this.db.$queryRaw<ComponentRow[]>(this.componentPage(after));
      if (rows.length === 0) {
        return;
      }
      for (const row of rows) {
        yield toComponent(row);
      }
      const last = rows[rows.length - 1];
      after = { sbom: Number(last.sbomOrdinal), component: Number(last.ordinal) };
    }
  }

  // Keyset paging on (plan ordinal, component ordinal): both databases order it the same.
  private componentPage(after: { sbom: number; component: number }): Sql {
    return sql`
      SELECT i."ordinal" AS "sbomOrdinal", s."subject" AS "subject", d."sha256" AS "sha256",
        c."ordinal" AS "ordinal", c."purl" AS "purl", c."name" AS "name", c."version" AS "version"
      FROM "export_inputs" i
      JOIN "sboms" s ON s."id" = i."recordId" AND s."tenant" = i."tenant"
      JOIN "raw_documents" d ON d."id" = s."documentId" AND d."tenant" = s."tenant"
      JOIN "sbom_components" c ON c."sbomId" = s."id" AND c."tenant" = s."tenant"
      WHERE i."tenant" = ${this.tenant} AND i."runId" = ${this.runId} AND i."kind" = 'sbom'
        AND (i."ordinal" > ${after.sbom}
          OR (i."ordinal" = ${after.sbom} AND c."ordinal" > ${after.component}))
      ORDER BY i."ordinal", c."ordinal" LIMIT ${PAGE_SIZE}`;
  }
}

interface ComponentRow {
  sbomOrdinal: number | bigint;
  subject: string;
  sha256: string;
  ordinal: number | bigint;
  purl: string | null;
  name: string;
  version: string | null;
}

function toComponent(row: ComponentRow): PlannedComponent {
  return {
    sbomOrdinal: Number(row.sbomOrdinal),
    sbomSubject: row.subject,
    sbomDocumentSha256: row.sha256,
    ordinal: Number(row.ordinal),
    purl: row.purl ?? undefined,
    name: row.name,
    version: row.version ?? undefined,
  };
}

// The adapter is handed a RunRecordSource only, whose database and scope are private.
// Missing: a public scope on RunRecordSource (or a db in WriteContext); until then this
// reads the same three fields the source was constructed with.
export function policyInputsOf(source: RunRecordSource): PolicyInputSource {
  const scope = source as unknown as { db: Database; tenant: string; runId: string };

  return new PolicyInputSource(scope.db, scope.tenant, scope.runId);
}
