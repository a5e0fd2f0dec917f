import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { NormalizedAdvisory } from '../../domain/records.js';
import { parseDocument } from '../../ingest/parse-document.js';
import BetterSqlite3 from 'better-sqlite3';
import { advisoryLine, sha256Hex } from '../../store/evidence-store.js';
import { EVIDENCE } from './export-stack.js';

// Real advisories from the fixtures, used as shapes for synthetic volume: each synthetic
// record is a real one with a new id, package name and dates.
export async function loadRealAdvisories(): Promise<NormalizedAdvisory[]> {
  const files = await listJson(path.join(EVIDENCE, 'advisories'));
  const advisories: NormalizedAdvisory[] = [];
  for (const file of files.sort()) {
    advisories.push(...parseDocument(await readFile(file), file).advisories);
  }

  return advisories;
}

export function* synthesizeAdvisories(shapes: NormalizedAdvisory[], count: number): Generator<NormalizedAdvisory> {
  for (let i = 0; i < count; i++) {
    const shape = shapes[i % shapes.length];
    const n = String(i).padStart(8, '0');
    yield {
      ...shape,
      id: `${shape.id}-SYN-${n}`,
      aliases: shape.aliases.map((alias) => `${alias}-${n}`),
      affected: shape.affected.map((affected) => ({ ...affected, name: `${affected.name}-syn${i % 5000}` })),
    };
  }
}

// Inserts synthetic advisories straight into the SQLite store file under one synthetic raw
// document: a fast way to give an export real volume (the ingest path is tested elsewhere).
export async function insertSyntheticAdvisories(databaseUrl: string, tenant: string, count: number): Promise<void> {
  const shapes = await loadRealAdvisories();
  const bytes = Buffer.from(`synthetic advisories for ${tenant}: ${count}`);
  const documentSha256 = sha256Hex(bytes);
  const sqlite = new BetterSqlite3(databaseUrl.replace(/^file:/, ''));
  sqlite.pragma('busy_timeout = 10000');
  const documentId = `doc_syn_${tenant}`;
  const epoch = new Date(0).toISOString().replace('Z', '+00:00');
  sqlite
    .prepare(`INSERT INTO raw_documents (id, tenant, sha256, mediaType, format, sourceUri, size, bytes, ingestedAt)
      VALUES (?, ?, ?, 'application/json', 'osv', 'synthetic:advisories', ?, ?, ?)`)
    .run(documentId, tenant, documentSha256, bytes.length, bytes, epoch);
  const insert = sqlite.prepare(`INSERT INTO advisories
    (id, tenant, documentId, advisoryId, aliases, source, cvssVectors, cwes, modified, canonical, sha256)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`);
  const insertAll = sqlite.transaction((advisories: Iterable<NormalizedAdvisory>) => {
    let i = 0;
    for (const advisory of advisories) {
      const canonical = advisoryLine(advisory, documentSha256);
      insert.run(
        `adv_syn_${String(i++).padStart(9, '0')}`,
        tenant,
        documentId,
        advisory.id,
        JSON.stringify(advisory.aliases),
        advisory.source,
        JSON.stringify(advisory.severity),
        JSON.stringify(advisory.cwes),
        advisory.modified ? new Date(advisory.modified).toISOString().replace('Z', '+00:00') : null,
        canonical,
        sha256Hex(canonical),
      );
    }
  });
  insertAll(synthesizeAdvisories(shapes, count));
  sqlite.close();
}

async function listJson(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });

  return entries
    .filter((e) => e.isFile() && /\.(json|ya?ml)$/.test(e.name))
    .map((e) => path.join(e.parentPath, e.name));
}
