import { createHash } from 'node:crypto';
import { canonicalJson } from '../bundle/canonical-json.js';
import type {
  NormalizedAdvisory,
  NormalizedSbom,
  NormalizedVexStatement,
  ParsedDocument,
} from '../domain/records.js';
import { SCHEMA_VERSIONS } from '../domain/records.js';
import { newId } from '../platform/ids.js';
import type { Database } from './database.js';

export interface RawDocumentInput {
  tenant: string;
  bytes: Uint8Array;
  sourceUri: string;
  ingestedAt: Date;
}

export interface IngestOutcome {
  status: 'ingested' | 'duplicate';
  documentId: string;
  sha256: string;
  counts: { advisories: number; vexStatements: number; sboms: number; components: number };
  ecosystems: string[]; // of the document's advisories, for the events ingest emits
}

export function sha256Hex(bytes: Uint8Array | string): string {
  return createHash('sha256').update(bytes).digest('hex');
}

// Stores the raw bytes and every record parsed from them in one transaction: a document is
// either entirely in the store or not at all. The same bytes twice are one document.
export async function storeParsedDocument(
  db: Database,
  input: RawDocumentInput,
  parsed: ParsedDocument,
): Promise<IngestOutcome> {
  const sha256 = sha256Hex(input.bytes);
  const counts = countRecords(parsed);
  const ecosystems = [...new Set(parsed.advisories.flatMap((a) => a.affected.map((p) => p.ecosystem)))]
    .filter(Boolean)
    .sort();
  const existing = await db.rawDocument.findUnique({
    where: { tenant_sha256: { tenant: input.tenant, sha256 } },
    select: { id: true },
  });
  if (existing) {
    return { status: 'duplicate', documentId: existing.id, sha256, counts, ecosystems };
  }

  const documentId = newId('doc');
  await db.$transaction(async (tx) => {
    await tx.rawDocument.create({
      data: {
        id: documentId,
        tenant: input.tenant,
        sha256,
        mediaType: parsed.mediaType,
        format: parsed.format,
        sourceUri: input.sourceUri,
        size: input.bytes.byteLength,
        bytes: Buffer.from(input.bytes),
        ingestedAt: input.ingestedAt,
      },
    });
    const context = { tx: tx as unknown as Database, tenant: input.tenant, documentId, sha256 };
    await insertAdvisories(context, parsed.advisories);
    await insertVexStatements(context, parsed.vexStatements);
    await insertSboms(context, parsed.sboms);
  });

  return { status: 'ingested', documentId, sha256, counts, ecosystems };
}

interface InsertContext {
  tx: Database;
  tenant: string;
  documentId: string;
  sha256: string;
}

async function insertAdvisories(ctx: InsertContext, advisories: NormalizedAdvisory[]) {
  for (const advisory of advisories) {
    const id = newId('adv');
    const canonical = advisoryLine(advisory, ctx.sha256);
    await ctx.tx.advisory.create({
      data: {
        id,
        tenant: ctx.tenant,
        documentId: ctx.documentId,
        advisoryId: advisory.id,
        aliases: JSON.stringify(advisory.aliases),
        source: advisory.source,
        severityLevel: advisory.severityLevel ?? null,
        cvssVectors: JSON.stringify(advisory.severity),
        cwes: JSON.stringify(advisory.cwes),
        published: optionalDate(advisory.published),
        modified: optionalDate(advisory.modified),
        withdrawn: optionalDate(advisory.withdrawn),
        canonical,
        sha256: sha256Hex(canonical),
        affected: {
          create: advisory.affected.map((affected) => ({
            id: newId('aff'),
            tenant: ctx.tenant,
            ecosystem: affected.ecosystem,
            packageName: affected.name,
            purl: affected.purl ?? null,
            fixed: JSON.stringify(affected.fixed),
          })),
        },
      },
    });
  }
}

async function insertVexStatements(ctx: InsertContext, statements: NormalizedVexStatement[]) {
  const rows = statements.map((statement, ordinal) => {
    const canonical = vexLine(statement, ctx.sha256);

    return {
      id: newId('vex'),
      tenant: ctx.tenant,
      documentId: ctx.documentId,
      ordinal,
      vulnerability: statement.vulnerability,
      product: statement.product,
      status: statement.status,
      justification: statement.justification ?? null,
      impactStatement: statement.impactStatement ?? null,
      actionStatement: statement.actionStatement ?? null,
      issuer: statement.issuer ?? null,
      timestamp: optionalDate(statement.timestamp),
      canonical,
      sha256: sha256Hex(canonical),
    };
  });
  if (rows.length > 0) {
    await ctx.tx.vexStatement.createMany({ data: rows });
  }
}

async function insertSboms(ctx: InsertContext, sboms: NormalizedSbom[]) {
  // One SBOM per document: formats that describe several subjects are split by the parser.
  for (const sbom of sboms.slice(0, 1)) {
    const sbomId = newId('sbom');
    const { components, ...subject } = sbom;
    const canonical = canonicalJson({
      schema: SCHEMA_VERSIONS.sbom,
      ...subject,
      componentCount: components.length,
      documentSha256: ctx.sha256,
    });
    await ctx.tx.sbom.create({
      data: {
        id: sbomId,
        tenant: ctx.tenant,
        documentId: ctx.documentId,
        format: sbom.format,
        specVersion: sbom.specVersion,
        subject: sbom.subject,
        subjectVersion: sbom.subjectVersion ?? null,
        imageDigest: sbom.imageDigest ?? null,
        repository: sbom.repository ?? null,
        tag: sbom.tag ?? null,
        created: optionalDate(sbom.created),
        componentCount: components.length,
        canonical,
        sha256: sha256Hex(canonical),
      },
    });
    await ctx.tx.sbomComponent.createMany({
      data: components.map((component, ordinal) => ({
        id: newId('cmp'),
        tenant: ctx.tenant,
        sbomId,
        ordinal,
        purl: component.purl ?? null,
        name: component.name,
        version: component.version ?? null,
        type: component.type ?? null,
        hashes: JSON.stringify(component.hashes),
      })),
    });
  }
}

// The JSONL line an export emits for a record: computed once here, streamed as stored.
export function advisoryLine(advisory: NormalizedAdvisory, documentSha256: string): string {
  return canonicalJson({ schema: SCHEMA_VERSIONS.advisory, ...advisory, documentSha256 });
}

export function vexLine(statement: NormalizedVexStatement, documentSha256: string): string {
  return canonicalJson({ schema: SCHEMA_VERSIONS.vexStatement, ...statement, documentSha256 });
}

function countRecords(parsed: ParsedDocument): IngestOutcome['counts'] {
  return {
    advisories: parsed.advisories.length,
    vexStatements: parsed.vexStatements.length,
    sboms: Math.min(parsed.sboms.length, 1),
    components: parsed.sboms[0]?.components.length ?? 0,
  };
}

function optionalDate(value: string | undefined): Date | null {
  return value ? new Date(value) : null;
}
