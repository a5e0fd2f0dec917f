import { createHash } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { MIRROR_KINDS, type MirrorKind } from '../adapters/mirror/mirror-layout.js';

// The mirror's own store: one SQLite file under the mirror folder. Imports change it in one
// transaction, so a failed import leaves it as it was. Text compares by bytes (BINARY), the
// order the exporter digests slots in.

export type MirrorDb = BetterSqlite3.Database;

export const MIRROR_DB_FILE = 'mirror.db';

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS head (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    run_id TEXT NOT NULL, manifest_sha256 TEXT NOT NULL, kind TEXT NOT NULL);
  CREATE TABLE IF NOT EXISTS imports (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, run_id TEXT NOT NULL, manifest_sha256 TEXT NOT NULL,
    kind TEXT NOT NULL, base_run_id TEXT, key_id TEXT);
  CREATE TABLE IF NOT EXISTS records (
    kind TEXT NOT NULL, key TEXT NOT NULL, sha256 TEXT NOT NULL, document_sha256 TEXT NOT NULL,
    line TEXT NOT NULL, PRIMARY KEY (kind, key, sha256));
  CREATE TABLE IF NOT EXISTS slots (
    kind TEXT NOT NULL, key TEXT NOT NULL, digest TEXT NOT NULL, PRIMARY KEY (kind, key));
  CREATE TABLE IF NOT EXISTS advisory_names (
    name TEXT NOT NULL, id TEXT NOT NULL, PRIMARY KEY (name, id));
  CREATE TABLE IF NOT EXISTS advisory_packages (
    ecosystem TEXT NOT NULL, name TEXT NOT NULL, id TEXT NOT NULL,
    PRIMARY KEY (ecosystem, name, id));
  CREATE TABLE IF NOT EXISTS vex_pairs (
    vulnerability TEXT NOT NULL, product TEXT NOT NULL, PRIMARY KEY (vulnerability, product));
  CREATE INDEX IF NOT EXISTS vex_pairs_product ON vex_pairs (product);
  CREATE TABLE IF NOT EXISTS sbom_subjects (
    subject TEXT NOT NULL, document_sha256 TEXT NOT NULL, format TEXT NOT NULL,
    graph TEXT NOT NULL, PRIMARY KEY (subject, document_sha256));
  CREATE TABLE IF NOT EXISTS documents (
    sha256 TEXT PRIMARY KEY, media_type TEXT NOT NULL, bytes BLOB NOT NULL);
  CREATE TABLE IF NOT EXISTS withheld_documents (
    sha256 TEXT PRIMARY KEY, kind TEXT NOT NULL, record_id TEXT, reason TEXT NOT NULL,
    pointers TEXT NOT NULL);
`;

export function openMirrorDb(root: string): MirrorDb {
  mkdirSync(root, { recursive: true });
  const db = new BetterSqlite3(path.join(root, MIRROR_DB_FILE));
  db.pragma('journal_mode = WAL');
  db.pragma('busy_timeout = 10000');
  db.exec(SCHEMA);

  return db;
}

export interface MirrorHead {
  runId: string;
  manifestSha256: string;
  kind: string;
}

export function readHead(db: MirrorDb): MirrorHead | undefined {
  const row = db.prepare('SELECT run_id, manifest_sha256, kind FROM head WHERE id = 1').get() as
    | { run_id: string; manifest_sha256: string; kind: string }
    | undefined;

  return row ? { runId: row.run_id, manifestSha256: row.manifest_sha256, kind: row.kind } : undefined;
}

// The same digest a full mirror's manifest.yaml records as state_digest, per kind.
export function stateDigests(db: MirrorDb): Record<MirrorKind, string> {
  const select = db.prepare('SELECT key, digest FROM slots WHERE kind = ? ORDER BY key');
  const digests = {} as Record<MirrorKind, string>;
  for (const kind of MIRROR_KINDS) {
    const hash = createHash('sha256');
    for (const row of select.iterate(kind) as Iterable<{ key: string; digest: string }>) {
      hash.update(`${row.key}\t${row.digest}\n`);
    }
    digests[kind] = hash.digest('hex');
  }

  return digests;
}

// sha256 over the sorted hashes of the raw documents held.
export function documentsDigest(db: MirrorDb): { count: number; digest: string } {
  const hash = createHash('sha256');
  let count = 0;
  for (const row of db.prepare('SELECT sha256 FROM documents ORDER BY sha256').iterate() as Iterable<{ sha256: string }>) {
    hash.update(`${row.sha256}\n`);
    count += 1;
  }

  return { count, digest: hash.digest('hex') };
}

// sha256 over every row of the lookup tables, so two mirrors can be compared index by index.
export function indexDigest(db: MirrorDb): string {
  const hash = createHash('sha256');
  const queries = [
    'SELECT ecosystem, name, id FROM advisory_packages ORDER BY ecosystem, name, id',
    'SELECT name, id FROM advisory_names ORDER BY name, id',
    'SELECT vulnerability, product FROM vex_pairs ORDER BY vulnerability, product',
    'SELECT subject, document_sha256, format, graph FROM sbom_subjects ORDER BY subject, document_sha256',
  ];
  for (const query of queries) {
    hash.update(`${query}\n`);
    for (const row of db.prepare(query).raw().iterate() as Iterable<unknown[]>) {
      hash.update(`${JSON.stringify(row)}\n`);
    }
  }

  return hash.digest('hex');
}

export interface WithheldDocumentRow {
  sha256: string;
  kind: string;
  recordId: string | null;
  reason: string;
  pointers: string[];
}

// A raw document the exporter's raw-document screen kept out of the bundles, if this one is.
export function withheldDocument(db: MirrorDb, sha256: string): WithheldDocumentRow | undefined {
  type Row = Omit<WithheldDocumentRow, 'recordId' | 'pointers'> & {
    record_id: string | null;
    pointers: string;
  };
  const row = db
    .prepare('SELECT sha256, kind, record_id, reason, pointers FROM withheld_documents WHERE sha256 = ?')
    .get(sha256) as Row | undefined;
  if (!row) {
    return undefined;
  }
  const { record_id: recordId, pointers, ...rest } = row;

  return { ...rest, recordId, pointers: JSON.parse(pointers) as string[] };
}
