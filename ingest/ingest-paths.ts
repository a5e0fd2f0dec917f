import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { isStellaError, type ErrorClass } from '../domain/errors.js';
import type { Database } from '../store/database.js';
import { storeParsedDocument, type IngestOutcome } from '../store/evidence-store.js';
import type { ConsensusChange } from '../consensus/consensus-records.js';
import { collectDocumentPaths } from './collect-files.js';
import { ConsensusRecompute } from './consensus-recompute.js';
import { DEFAULT_INGEST_LIMITS, type IngestLimits } from './ingest-limits.js';
import { parseDocument } from './parse-document.js';

export interface IngestRejection {
  path: string;
  errorClass: ErrorClass;
  message: string;
}

export interface IngestReport {
  ingested: (IngestOutcome & { path: string })[];
  duplicates: (IngestOutcome & { path: string })[];
  rejected: IngestRejection[];
  // The VEX consensus outcomes the new statements moved (see consensus-recompute.ts).
  consensusChanges: ConsensusChange[];
}

// Ingests files and folders one document at a time. A document that does not parse is
// rejected with its path and reason and leaves nothing behind; the others go on.
export async function ingestPaths(
  db: Database,
  tenant: string,
  paths: string[],
  onDocument: (path: string, outcome: IngestOutcome | IngestRejection) => void = () => {},
  limits: IngestLimits = DEFAULT_INGEST_LIMITS,
): Promise<IngestReport> {
  const report: IngestReport = { ingested: [], duplicates: [], rejected: [], consensusChanges: [] };
  const consensus = await ConsensusRecompute.forTenant(db, tenant);
  for await (const file of collectDocumentPaths(paths)) {
    const bytes = await readFile(file);
    const sourceUri = sourceUriOf(file);
    let parsed;
    try {
      parsed = parseDocument(bytes, sourceUri, limits);
    } catch (err) {
      if (!isStellaError(err)) {
        throw err;
      }
      const rejection = { path: file, errorClass: err.code, message: err.message };
      report.rejected.push(rejection);
      onDocument(file, rejection);
      continue;
    }
    await consensus.noteStatements(parsed.vexStatements);
    const outcome = await storeParsedDocument(db, { tenant, bytes, sourceUri, ingestedAt: new Date() }, parsed);
    (outcome.status === 'ingested' ? report.ingested : report.duplicates).push({ ...outcome, path: file });
    onDocument(file, outcome);
  }
  report.consensusChanges = await consensus.changes();

  return report;
}

// Source URIs are recorded as given, relative to the working folder when inside it, so the
// same evidence ingested from two checkouts gives the same provenance.
function sourceUriOf(file: string): string {
  const relative = path.relative(process.cwd(), path.resolve(file));
  const inside = !relative.startsWith('..') && !path.isAbsolute(relative);

  return (inside ? relative : path.resolve(file)).split(path.sep).join('/');
}
