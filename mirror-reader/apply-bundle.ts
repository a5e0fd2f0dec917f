import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import {
  MIRROR_KINDS,
  tombstonePath,
  vexSlotKey,
  type MirrorKind,
  type MirrorManifest,
} from '../adapters/mirror/mirror-layout.js';
import type { ExportManifest, ManifestFile, WithheldDocument } from '../bundle/manifest.js';
import { StellaError } from '../domain/errors.js';
import { jsonlZstLines } from './bundle-source.js';
import { stateDigests, type MirrorDb } from './mirror-database.js';

// Applies a verified mirror bundle to the mirror's store: a full bundle replaces everything,
// a delta replaces the slots it carries, removes the slots and documents it tombstones and
// patches the indexes. Runs inside the caller's transaction.

export interface VerifiedBundle {
  dir: string;
  manifest: MirrorManifest;
  exportManifest: ExportManifest;
  listed: Map<string, ManifestFile>;
  manifestSha256: string;
  keyId?: string;
}

type Nested = Record<string, Record<string, string[]>>;

const RAW_PATH = /^(advisories|vex|sboms)\/raw\/[0-9a-f]{2}\/([0-9a-f]{64})\.[a-z]+$/;

export async function applyBundle(db: MirrorDb, bundle: VerifiedBundle): Promise<void> {
  const full = bundle.manifest.kind === 'full';
  if (full) {
    clearMirror(db);
  }
  for (const kind of MIRROR_KINDS) {
    await applyRecords(db, bundle, kind);
    await applyTombstones(db, bundle, kind);
    await applyIndex(db, bundle, kind, full);
  }
  await applyDocuments(db, bundle);
  if (full) {
    checkStateDigest(db, bundle.manifest);
  }
  recordHead(db, bundle);
}

function clearMirror(db: MirrorDb): void {
  const indexes = ['advisory_names', 'advisory_packages', 'vex_pairs', 'sbom_subjects'];
  for (const table of ['records', 'slots', ...indexes, 'documents', 'withheld_documents']) {
    db.exec(`DELETE FROM ${table}`);
  }
}

// --- records ------------------------------------------------------------------------------

async function applyRecords(db: MirrorDb, bundle: VerifiedBundle, kind: MirrorKind) {
  for (const part of bundle.manifest.content[kind]?.parts ?? []) {
    let pending: { key: string; line: string }[] = [];
    for await (const line of jsonlZstLines(path.join(bundle.dir, part.path))) {
      const key = slotKeyOf(kind, line);
      if (pending.length > 0 && pending[0].key !== key) {
        replaceSlot(db, kind, pending);
        pending = [];
      }
      pending.push({ key, line });
    }
    if (pending.length > 0) {
      replaceSlot(db, kind, pending);
    }
  }
}

function slotKeyOf(kind: MirrorKind, line: string): string {
  const record = JSON.parse(line) as Record<string, string>;
  if (kind === 'advisories') return record.id;
  if (kind === 'vex') return vexSlotKey(record.vulnerability, record.product);

  return record.subject;
}

function replaceSlot(db: MirrorDb, kind: MirrorKind, lines: { key: string; line: string }[]) {
  const key = lines[0].key;
  removeSlot(db, kind, key);
  const records = lines
    .map(({ line }) => ({ line, sha256: sha256Hex(line), document: documentOf(line) }))
    .sort((a, b) => (a.sha256 < b.sha256 ? -1 : a.sha256 > b.sha256 ? 1 : 0));
  const insert = db.prepare(
    'INSERT OR IGNORE INTO records (kind, key, sha256, document_sha256, line) VALUES (?, ?, ?, ?, ?)',
  );
  records.forEach((r) => insert.run(kind, key, r.sha256, r.document, r.line));
  const digest = createHash('sha256');
  [...new Set(records.map((r) => r.sha256))].forEach((sha) => digest.update(`${sha}\n`));
  db.prepare('INSERT INTO slots (kind, key, digest) VALUES (?, ?, ?)').run(kind, key, digest.digest('hex'));
  if (kind === 'advisories') {
    indexAdvisoryNames(db, key, records.map((r) => r.line));
  }
}

function removeSlot(db: MirrorDb, kind: MirrorKind, key: string) {
  db.prepare('DELETE FROM records WHERE kind = ? AND key = ?').run(kind, key);
  db.prepare('DELETE FROM slots WHERE kind = ? AND key = ?').run(kind, key);
  if (kind === 'advisories') {
    db.prepare('DELETE FROM advisory_names WHERE id = ?').run(key);
  }
}

// An advisory is found by its id or any of its aliases.
function indexAdvisoryNames(db: MirrorDb, id: string, lines: string[]) {
  const insert = db.prepare('INSERT OR IGNORE INTO advisory_names (name, id) VALUES (?, ?)');
  insert.run(id, id);
  for (const line of lines) {
    ((JSON.parse(line) as { aliases?: string[] }).aliases ?? []).forEach((alias) => insert.run(alias, id));
  }
}

function documentOf(line: string): string {
  return String((JSON.parse(line) as { documentSha256?: string }).documentSha256 ?? '');
}

async function applyTombstones(db: MirrorDb, bundle: VerifiedBundle, kind: MirrorKind) {
  const tombstones = bundle.manifest.content[kind]?.tombstones;
  if (!tombstones) {
    return;
  }
  for await (const line of jsonlZstLines(path.join(bundle.dir, tombstones.path))) {
    removeSlot(db, kind, (JSON.parse(line) as { key: string }).key);
  }
}

// --- indexes ------------------------------------------------------------------------------

async function applyIndex(db: MirrorDb, bundle: VerifiedBundle, kind: MirrorKind, full: boolean) {
  const indexPath = bundle.manifest.content[kind]?.index;
  if (!indexPath) {
    return;
  }
  const index = JSON.parse(await readFile(path.join(bundle.dir, indexPath), 'utf8')) as Record<string, unknown>;
  if (kind === 'advisories') {
    applyAdvisoryIndex(db, index, full);
  } else if (kind === 'vex') {
    applyVexIndex(db, index, full);
  } else {
    await applySbomIndex(db, bundle, index, full);
  }
}

function applyAdvisoryIndex(db: MirrorDb, index: Record<string, unknown>, full: boolean) {
  const add = db.prepare('INSERT OR IGNORE INTO advisory_packages (ecosystem, name, id) VALUES (?, ?, ?)');
  const remove = db.prepare('DELETE FROM advisory_packages WHERE ecosystem = ? AND name = ? AND id = ?');
  forNested((full ? index.packages : index.add) as Nested, (e, n, id) => add.run(e, n, id));
  if (!full) {
    forNested(index.remove as Nested, (e, n, id) => remove.run(e, n, id));
  }
}

function applyVexIndex(db: MirrorDb, index: Record<string, unknown>, full: boolean) {
  const add = db.prepare('INSERT OR IGNORE INTO vex_pairs (vulnerability, product) VALUES (?, ?)');
  const remove = db.prepare('DELETE FROM vex_pairs WHERE vulnerability = ? AND product = ?');
  const added = (full ? index : index.add) as { vulnerabilities?: Record<string, string[]> };
  forNested({ v: added.vulnerabilities ?? {} }, (_, vulnerability, product) => add.run(vulnerability, product));
  if (!full) {
    const removed = index.remove as { vulnerabilities?: Record<string, string[]> };
    forNested({ v: removed.vulnerabilities ?? {} }, (_, vulnerability, product) => remove.run(vulnerability, product));
  }
}

interface SbomEntry {
  documentSha256: string;
  format: string;
  graph: string;
}

async function applySbomIndex(db: MirrorDb, bundle: VerifiedBundle, index: Record<string, unknown>, full: boolean) {
  const subjects = (full ? index.subjects : index.set) as Record<string, SbomEntry[]>;
  const removed = full ? [] : ((index.remove ?? []) as string[]);
  const remove = db.prepare('DELETE FROM sbom_subjects WHERE subject = ?');
  const insert = db.prepare(
    'INSERT INTO sbom_subjects (subject, document_sha256, format, graph) VALUES (?, ?, ?, ?)',
  );
  removed.forEach((subject) => remove.run(subject));
  for (const [subject, entries] of Object.entries(subjects ?? {})) {
    remove.run(subject);
    for (const entry of entries) {
      const graph = await readListed(bundle, entry.graph);
      insert.run(subject, entry.documentSha256, entry.format, graph);
    }
  }
}

function forNested(nested: Nested | undefined, visit: (outer: string, inner: string, value: string) => void) {
  for (const [outer, level] of Object.entries(nested ?? {})) {
    for (const [inner, values] of Object.entries(level)) {
      values.forEach((value) => visit(outer, inner, value));
    }
  }
}

// --- documents ----------------------------------------------------------------------------

async function applyDocuments(db: MirrorDb, bundle: VerifiedBundle) {
  const insert = db.prepare('INSERT OR REPLACE INTO documents (sha256, media_type, bytes) VALUES (?, ?, ?)');
  for (const file of bundle.listed.values()) {
    const match = RAW_PATH.exec(file.path);
    if (!match) {
      continue;
    }
    if (match[2] !== file.sha256) {
      throw new StellaError('integrity_failed', `${file.path} is not named by its own sha256`);
    }
    insert.run(file.sha256, file.mediaType, await readFile(path.join(bundle.dir, file.path)));
  }
  applyWithheld(db, bundle.manifest.withheld ?? []);
  if (bundle.listed.has(tombstonePath('documents'))) {
    const remove = db.prepare('DELETE FROM documents WHERE sha256 = ?');
    const forget = db.prepare('DELETE FROM withheld_documents WHERE sha256 = ?');
    for await (const line of jsonlZstLines(path.join(bundle.dir, tombstonePath('documents')))) {
      const { key } = JSON.parse(line) as { key: string };
      remove.run(key);
      forget.run(key);
    }
  }
}

// Documents the exporter withheld (redaction/): the mirror keeps why, so that a request for
// one is answered with the reason instead of a bare "no document".
function applyWithheld(db: MirrorDb, withheld: WithheldDocument[]) {
  const insert = db.prepare(
    `INSERT OR REPLACE INTO withheld_documents (sha256, kind, record_id, reason, pointers)
     VALUES (?, ?, ?, ?, ?)`,
  );
  for (const entry of withheld) {
    if (!/^[0-9a-f]{64}$/.test(String(entry.sha256))) {
      const message = 'manifest.yaml lists a withheld document without a sha256';
      throw new StellaError('schema_mismatch', message);
    }
    const [kind, reason] = [String(entry.kind), String(entry.reason)];
    const pointers = JSON.stringify(entry.pointers ?? []);
    insert.run(entry.sha256, kind, entry.recordId ?? null, reason, pointers);
  }
}

async function readListed(bundle: VerifiedBundle, relative: string): Promise<string> {
  if (!bundle.listed.has(relative)) {
    throw new StellaError('integrity_failed', `the index names ${relative}, which export.json does not list`);
  }

  return readFile(path.join(bundle.dir, relative), 'utf8');
}

// --- state --------------------------------------------------------------------------------

// A full bundle states the digest of its content; what was stored must match it.
function checkStateDigest(db: MirrorDb, manifest: MirrorManifest) {
  const stored = stateDigests(db);
  for (const kind of MIRROR_KINDS) {
    if (manifest.state_digest?.[kind] !== stored[kind]) {
      throw new StellaError('integrity_failed', `the imported ${kind} do not match the bundle's state digest`);
    }
  }
}

function recordHead(db: MirrorDb, bundle: VerifiedBundle) {
  const runId = bundle.exportManifest.runId;
  db.prepare(
    `INSERT INTO head (id, run_id, manifest_sha256, kind) VALUES (1, ?, ?, ?)
     ON CONFLICT (id) DO UPDATE SET run_id = excluded.run_id,
       manifest_sha256 = excluded.manifest_sha256, kind = excluded.kind`,
  ).run(runId, bundle.manifestSha256, bundle.manifest.kind);
  db.prepare('INSERT INTO imports (run_id, manifest_sha256, kind, base_run_id, key_id) VALUES (?, ?, ?, ?, ?)').run(
    runId,
    bundle.manifestSha256,
    bundle.manifest.kind,
    bundle.manifest.base_export_id ?? null,
    bundle.keyId ?? null,
  );
}

function sha256Hex(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}
