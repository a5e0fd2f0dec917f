import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type Express, type Request } from 'express';
import { vexSlotKey } from '../adapters/mirror/mirror-layout.js';
import { HTTP_STATUS_BY_CLASS, isStellaError, StellaError } from '../domain/errors.js';
import {
  documentsDigest,
  indexDigest,
  openMirrorDb,
  readHead,
  stateDigests,
  withheldDocument,
  type MirrorDb,
} from './mirror-database.js';

// The read-only HTTP face of a mirror: lookups through the imported indexes. It only reads
// the store; imports happen through `stella mirror import`, each in one transaction, so a
// query sees a mirror before or after an import, never half of one.

export interface MirrorServerOptions {
  root: string;
  port?: number; // 0 picks a free one
}

export interface RunningMirrorServer {
  url: string;
  close(): Promise<void>;
}

export async function startMirrorServer(options: MirrorServerOptions): Promise<RunningMirrorServer> {
  const db = openMirrorDb(options.root);
  const app = mirrorApp(db);
  // Loopback only: the mirror is for this host; put a reverse proxy in front to share it.
  const server = await new Promise<Server>((resolve, reject) => {
    const listening = app.listen(options.port ?? 8090, '127.0.0.1', () => resolve(listening));
    listening.once('error', reject);
  });
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    close: async () => {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      db.close();
    },
  };
}

export function mirrorApp(db: MirrorDb): Express {
  const app = express();
  app.disable('x-powered-by');
  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/mirror/state', (_req, res) => {
    res.json({
      head: readHead(db) ?? null,
      stateDigest: stateDigests(db),
      indexDigest: indexDigest(db),
      documents: documentsDigest(db),
    });
  });
  app.get('/advisories', (req, res) => {
    res.json({ advisories: advisoriesByPackage(db, required(req, 'ecosystem'), required(req, 'name')) });
  });
  app.get('/advisories/:id', (req, res) => {
    res.json({ advisories: advisoriesByName(db, req.params.id) });
  });
  app.get('/vex', (req, res) => {
    res.json({ statements: vexStatements(db, req) });
  });
  app.get('/sboms', (req, res) => {
    res.json({ sboms: sbomsBySubject(db, required(req, 'subject')) });
  });
  app.get('/documents/:sha256', (req, res) => {
    const row = db.prepare('SELECT media_type, bytes FROM documents WHERE sha256 = ?').get(req.params.sha256) as
      | { media_type: string; bytes: Buffer }
      | undefined;
    if (!row) throw missingDocument(db, req.params.sha256);
    res.type(row.media_type).send(row.bytes);
  });
  app.use((req, _res, next) => next(new StellaError('not_found', `no route for ${req.method} ${req.path}`)));
  app.use(errorHandler());

  return app;
}

// A withheld document is named as such, with the pointers of the fields that kept it out.
function missingDocument(db: MirrorDb, sha256: string): StellaError {
  const withheld = withheldDocument(db, sha256);
  if (!withheld) {
    return new StellaError('not_found', `no document ${sha256}`);
  }
  const message =
    `document ${sha256} was withheld by the exporter (${withheld.reason}): its raw bytes ` +
    'are not in this mirror, its normalized records are';

  return new StellaError('not_found', message, { details: { withheld } });
}

function advisoriesByPackage(db: MirrorDb, ecosystem: string, name: string): unknown[] {
  const ids = db
    .prepare('SELECT id FROM advisory_packages WHERE ecosystem = ? AND name = ? ORDER BY id')
    .all(ecosystem, name) as { id: string }[];

  return ids.flatMap(({ id }) => slotRecords(db, 'advisories', id));
}

function advisoriesByName(db: MirrorDb, name: string): unknown[] {
  const ids = db.prepare('SELECT id FROM advisory_names WHERE name = ? ORDER BY id').all(name) as { id: string }[];
  if (ids.length === 0) {
    throw new StellaError('not_found', `no advisory ${name}`);
  }

  return ids.flatMap(({ id }) => slotRecords(db, 'advisories', id));
}

function vexStatements(db: MirrorDb, req: Request): unknown[] {
  const vulnerability = optional(req, 'vulnerability');
  const product = optional(req, 'product');
  if (!vulnerability && !product) {
    throw new StellaError('bad_request', 'give vulnerability or product');
  }
  const pairs = db
    .prepare(
      `SELECT vulnerability, product FROM vex_pairs
       WHERE (? IS NULL OR vulnerability = ?) AND (? IS NULL OR product = ?)
       ORDER BY vulnerability, product`,
    )
    .all(vulnerability ?? null, vulnerability ?? null, product ?? null, product ?? null) as {
    vulnerability: string;
    product: string;
  }[];

  return pairs.flatMap((pair) => slotRecords(db, 'vex', vexSlotKey(pair.vulnerability, pair.product)));
}

function sbomsBySubject(db: MirrorDb, subject: string): unknown[] {
  const rows = db
    .prepare('SELECT document_sha256, format, graph FROM sbom_subjects WHERE subject = ? ORDER BY document_sha256')
    .all(subject) as { document_sha256: string; format: string; graph: string }[];
  const records = new Map(
    (slotRecords(db, 'sboms', subject) as { documentSha256: string }[]).map((r) => [r.documentSha256, r]),
  );

  return rows.map((row) => ({
    documentSha256: row.document_sha256,
    format: row.format,
    record: records.get(row.document_sha256) ?? null,
    graph: JSON.parse(row.graph) as unknown,
  }));
}

function slotRecords(db: MirrorDb, kind: string, key: string): unknown[] {
  const rows = db
    .prepare('SELECT line FROM records WHERE kind = ? AND key = ? ORDER BY sha256')
    .all(kind, key) as { line: string }[];

  return rows.map((row) => JSON.parse(row.line) as unknown);
}

function required(req: Request, name: string): string {
  const value = optional(req, name);
  if (!value) {
    throw new StellaError('bad_request', `query parameter ${name} is required`);
  }

  return value;
}

function optional(req: Request, name: string): string | undefined {
  const value = req.query[name];

  return typeof value === 'string' && value.length > 0 ? value : undefined;
}

function errorHandler(): express.ErrorRequestHandler {
  return (err, _req, res, _next) => {
    const domain = isStellaError(err) ? err : new StellaError('internal', 'internal error', { cause: err });
    const details = domain.details ? { details: domain.details } : {};
    const body = { error_class: domain.code, message: domain.message, ...details };
    res.status(HTTP_STATUS_BY_CLASS[domain.code]).json(body);
  };
}
