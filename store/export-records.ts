import type { NormalizedAdvisory } from '../domain/records.js';
import type { Database } from './database.js';
import type { InputKind } from './export-plan.js';

const PAGE_SIZE = 2_000;

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
// stream whatever the snapshot's size.
export class RunRecordSource {
  constructor(
    private readonly db: Database,
    private readonly tenant: string,
    private readonly runId: string,
  ) {}

  async *advisoryLines(): AsyncGenerator<string> {
    for await (const ids of this.plannedIds('advisory')) {
      const rows = await this.db.advisory.findMany({
        where: { tenant: this.tenant, id: { in: ids } },
        select: { id: true, canonical: true },
      });
      yield* inPlanOrder(ids, rows).map((row) => row.canonical);
    }
  }

  async *advisories(): AsyncGenerator<NormalizedAdvisory> {
    for await (const line of this.advisoryLines()) {
      yield JSON.parse(line) as NormalizedAdvisory;
    }
  }

  async *vexLines(): AsyncGenerator<string> {
    for await (const ids of this.plannedIds('vex')) {
      const rows = await this.db.vexStatement.findMany({
        where: { tenant: this.tenant, id: { in: ids } },
        select: { id: true, canonical: true },
      });
      yield* inPlanOrder(ids, rows).map((row) => row.canonical);
    }
  }

  async *sbomDocuments(): AsyncGenerator<SbomDocument> {
    for await (const ids of this.plannedIds('sbom', 50)) {
      const rows = await this.db.sbom.findMany({
        where: { tenant: this.tenant, id: { in: ids } },
        select: {
          id: true,
          subject: true,
          format: true,
          document: { select: { sha256: true, bytes: true } },
        },
      });
      for (const row of inPlanOrder(ids, rows)) {
        yield {
          subject: row.subject,
          format: row.format,
          documentSha256: row.document.sha256,
          bytes: row.document.bytes,
        };
      }
    }
  }

  async inputDocuments(kinds?: InputKind[]): Promise<RawInputDocument[]> {
    const planned = await this.db.exportInput.findMany({
      where: { tenant: this.tenant, runId: this.runId, kind: kinds ? { in: kinds } : undefined },
      distinct: ['documentSha256'],
      select: { documentSha256: true },
    });
    const documents = await this.db.rawDocument.findMany({
      where: { tenant: this.tenant, sha256: { in: planned.map((p) => p.documentSha256) } },
      select: { sha256: true, mediaType: true, sourceUri: true, format: true },
      orderBy: { sha256: 'asc' },
    });

    return documents;
  }

  private async *plannedIds(kind: InputKind, pageSize = PAGE_SIZE): AsyncGenerator<string[]> {
    let after = -1;
    for (;;) {
      const page = await this.db.exportInput.findMany({
        where: { tenant: this.tenant, runId: this.runId, kind, ordinal: { gt: after } },
        orderBy: { ordinal: 'asc' },
        take: pageSize,
        select: { ordinal: true, recordId: true },
      });
      if (page.length === 0) {
        return;
      }
      yield page.map((p) => p.recordId);
      after = page[page.length - 1].ordinal;
    }
  }
}

function inPlanOrder<T extends { id: string }>(ids: string[], rows: T[]): T[] {
  const byId = new Map(rows.map((row) => [row.id, row]));

  return ids.flatMap((id) => {
    const row = byId.get(id);

    return row ? [row] : [];
  });
}
