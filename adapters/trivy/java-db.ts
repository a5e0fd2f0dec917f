// Trivy Java DB (schema 1, docs/formats/trivy-db.md section 11): a SQLite file that maps JAR SHA-1
// digests and Maven coordinates to each other, so that Trivy can name JARs that carry no
// pom.properties. Writes outDir/trivy-java.db, outDir/metadata.json and outDir/javadb.tar.gz.
//
// Rows go through a staging SQLite file in a work directory (bounded memory), then into the
// final file in one sorted pass: artifact ids and row order depend on the data only, not on
// the input order, and VACUUM leaves no free pages; a SHA-1 seen twice keeps the first row
// in that order. Equal input gives equal bytes for one
// SQLite version.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import Database from 'better-sqlite3';
import { PackageURL } from 'packageurl-js';

import { StellaError } from '../../domain/errors.js';
import type { SbomComponent } from '../../domain/records.js';
import { writeDbArchive } from './db-archive.js';

export const TRIVY_JAVA_DB_SCHEMA_VERSION = 1;
export const TRIVY_JAVA_MAPPING_VERSION = 'trivy-java-db-v1/1';

export interface JavaArtifact {
  groupId: string;
  artifactId: string;
  version: string;
  sha1: string; // 40 hex digits
  archiveType: 'jar' | 'aar';
  classifier?: string; // e.g. "sources"; such rows come after plain ones, as upstream does
}

export interface TrivyJavaDbBuildResult {
  files: { path: string; sha256: string; size: number }[]; // path relative to outDir
  counts: { artifacts: number; indices: number };
  skipped: Record<string, number>; // "duplicate_sha1" → rows whose digest was already indexed
  mappingVersion: string;
}

const FILE_NAMES = ['trivy-java.db', 'metadata.json', 'javadb.tar.gz'];
const UPDATE_INTERVAL_MS = 3 * 24 * 60 * 60 * 1000; // the official Java DB's cadence
const GO_ZERO_TIME = '0001-01-01T00:00:00Z';

// Same DDL as trivy-java-db's own builder, so SQL written against that file works here.
const SCHEMA = [
  'CREATE TABLE artifacts(id INTEGER PRIMARY KEY, group_id TEXT, artifact_id TEXT)',
  'CREATE TABLE indices(artifact_id INTEGER, version TEXT, sha1 BLOB, archive_type TEXT, ' +
    'foreign key (artifact_id) references artifacts(id))',
  'CREATE UNIQUE INDEX artifacts_idx ON artifacts(artifact_id, group_id)',
  'CREATE INDEX indices_artifact_idx ON indices(artifact_id)',
  'CREATE UNIQUE INDEX indices_sha1_idx ON indices(sha1)',
];

export async function buildTrivyJavaDb(input: {
  artifacts: AsyncIterable<JavaArtifact>;
  outDir: string;
  now: Date;
  workDir?: string;
}): Promise<TrivyJavaDbBuildResult> {
  await mkdir(input.outDir, { recursive: true });
  const workDir = await mkdtemp(join(input.workDir ?? tmpdir(), 'trivy-java-db-'));
  try {
    const staged = await stageArtifacts(join(workDir, 'staging.db'), input.artifacts);
    const dbPath = join(input.outDir, FILE_NAMES[0]);
    await rm(dbPath, { force: true });
    const counts = writeFinalDb(dbPath, staged);
    await writeJavaMetadata(join(input.outDir, FILE_NAMES[1]), input.now);
    const packed = FILE_NAMES.slice(0, 2).map((f) => join(input.outDir, f));
    await writeDbArchive(join(input.outDir, FILE_NAMES[2]), packed, input.now);
    const skipped: Record<string, number> = {};
    if (staged.rows > counts.indices) skipped.duplicate_sha1 = staged.rows - counts.indices;

    return {
      files: await describe(input.outDir),
      counts,
      skipped,
      mappingVersion: TRIVY_JAVA_MAPPING_VERSION,
    };
  } finally {
    await rm(workDir, { recursive: true, force: true });
  }
}

// The Maven coordinates and SHA-1 of an SBOM component, or null when it has either missing.
export function javaArtifactFromComponent(component: SbomComponent): JavaArtifact | null {
  if (!component.purl?.startsWith('pkg:maven/')) return null;

  const purl = PackageURL.fromString(component.purl);
  const sha1 = component.hashes.find((h) => h.alg.replace('-', '').toUpperCase() === 'SHA1');
  if (!purl.namespace || !purl.version || !sha1) return null;

  const type = purl.qualifiers?.type ?? 'jar';
  if (type !== 'jar' && type !== 'aar') return null;

  const classifier = purl.qualifiers?.classifier;
  const base = { groupId: purl.namespace, artifactId: purl.name, version: purl.version };

  return { ...base, sha1: sha1.content.toLowerCase(), archiveType: type, classifier };
}

interface Staged {
  path: string;
  rows: number;
}

async function stageArtifacts(
  path: string,
  artifacts: AsyncIterable<JavaArtifact>,
): Promise<Staged> {
  const db = new Database(path);
  db.exec(
    'CREATE TABLE staged(group_id, artifact_id, version, sha1, archive_type, plain, classifier)',
  );
  const insert = db.prepare('INSERT INTO staged VALUES (?, ?, ?, ?, ?, ?, ?)');
  let rows = 0;
  let batch: JavaArtifact[] = [];
  const flush = db.transaction((items: JavaArtifact[]) => {
    for (const a of items) insert.run(...stagedRow(a, rows++));
  });
  for await (const artifact of artifacts) {
    batch.push(artifact);
    if (batch.length < 10_000) continue;

    flush(batch);
    batch = [];
  }
  flush(batch);
  db.close();

  return { path, rows };
}

function stagedRow(a: JavaArtifact, index: number): unknown[] {
  const field = (name: string) => `java artifact #${index} ${name}`;
  for (const name of ['groupId', 'artifactId', 'version'] as const) {
    if (!a[name]) unrepresentable(field(name), String(a[name]));
  }
  if (!/^[0-9a-fA-F]{40}$/.test(a.sha1)) unrepresentable(field('sha1'), a.sha1);
  if (a.archiveType !== 'jar' && a.archiveType !== 'aar') {
    unrepresentable(field('archiveType'), a.archiveType);
  }
  const sha1 = Buffer.from(a.sha1, 'hex');
  const plain = a.classifier ? 1 : 0; // 0 sorts first: plain artifacts win SHA-1 clashes

  return [a.groupId, a.artifactId, a.version, sha1, a.archiveType, plain, a.classifier ?? ''];
}

function writeFinalDb(path: string, staged: Staged): { artifacts: number; indices: number } {
  const db = new Database(path);
  try {
    for (const statement of SCHEMA) db.exec(statement);
    db.prepare('ATTACH DATABASE ? AS staging').run(staged.path);
    db.transaction(() => copySorted(db))();
    db.exec('DETACH DATABASE staging');
    db.exec('VACUUM');

    return countRows(db);
  } finally {
    db.close();
  }
}

function copySorted(db: Database.Database): void {
  db.exec(
    'INSERT INTO artifacts(group_id, artifact_id) SELECT DISTINCT group_id, artifact_id ' +
      'FROM staging.staged ORDER BY group_id, artifact_id',
  );
  db.exec(
    'INSERT OR IGNORE INTO indices(artifact_id, version, sha1, archive_type) ' +
      'SELECT a.id, s.version, s.sha1, s.archive_type FROM staging.staged s ' +
      'JOIN artifacts a ON a.group_id = s.group_id AND a.artifact_id = s.artifact_id ' +
      'ORDER BY s.plain, s.group_id, s.artifact_id, s.version, s.classifier, ' +
      's.archive_type, s.sha1',
  );
}

function countRows(db: Database.Database): { artifacts: number; indices: number } {
  const count = (table: string) =>
    (db.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;

  return { artifacts: count('artifacts'), indices: count('indices') };
}

async function writeJavaMetadata(path: string, now: Date): Promise<void> {
  const goTime = (d: Date) => d.toISOString().replace(/\.?0+Z$/, 'Z');
  const metadata = {
    Version: TRIVY_JAVA_DB_SCHEMA_VERSION,
    NextUpdate: goTime(new Date(now.getTime() + UPDATE_INTERVAL_MS)),
    UpdatedAt: goTime(now),
    DownloadedAt: GO_ZERO_TIME,
  };
  await writeFile(path, JSON.stringify(metadata));
}

async function describe(outDir: string): Promise<TrivyJavaDbBuildResult['files']> {
  return Promise.all(
    FILE_NAMES.map(async (name) => {
      const path = join(outDir, name);
      const hash = createHash('sha256');
      for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);

      return { path: name, sha256: hash.digest('hex'), size: (await stat(path)).size };
    }),
  );
}

function unrepresentable(field: string, value: string): never {
  throw new StellaError(
    'schema_mismatch',
    `Trivy Java DB mapping cannot represent ${field} (${JSON.stringify(value)})`,
    { details: { field, value } },
  );
}
