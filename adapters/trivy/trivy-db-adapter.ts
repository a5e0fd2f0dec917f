import { mkdir, rename } from 'node:fs/promises';
import path from 'node:path';
import { removeQuietly } from '../../bundle/files.js';
import type { ManifestFile } from '../../bundle/manifest.js';
import { SCHEMA_VERSIONS } from '../../domain/records.js';
import type { AdapterOutput, ExportAdapter, WriteContext } from '../export-adapter.js';
import { buildTrivyDb, TRIVY_MAPPING_VERSION } from './build-trivy-db.js';
import { TRIVY_DB_SCHEMA_VERSION } from './db-archive.js';
import { buildTrivyJavaDb, javaArtifactFromComponent, TRIVY_JAVA_DB_SCHEMA_VERSION, TRIVY_JAVA_MAPPING_VERSION, type JavaArtifact } from './java-db.js';

const TRIVY_DB_MEDIA_TYPE = 'application/vnd.aquasec.trivy.db.layer.v1.tar+gzip';
const TRIVY_JAVA_DB_MEDIA_TYPE = 'application/vnd.aquasec.trivy.javadb.layer.v1.tar+gzip';

// trivy:db: the vulnerability DB Trivy reads (schema 2). The bundle carries the archive
// Trivy downloads (`trivy/db.bundle`, tar+gzip of trivy.db and metadata.json) and the same
// two files unpacked under `trivy/db/`, ready to copy into `<trivy cache>/db/`.
export const trivyDbAdapter: ExportAdapter = {
  kind: 'trivy:db',
  name: 'stella.trivy-db',
  version: TRIVY_MAPPING_VERSION,
  write: async (context) => {
    const now = await evidenceClock(context);
    const outDir = path.join(context.stagingDir, 'trivy', 'db');
    const result = await withWorkDir(context, (workDir) =>
      buildTrivyDb({ advisories: context.source.advisories(), outDir, now, workDir }),
    );
    await rename(path.join(outDir, 'db.tar.gz'), path.join(context.stagingDir, 'trivy', 'db.bundle'));

    return output(context, result.files, 'db.tar.gz', 'trivy/db.bundle', TRIVY_DB_MEDIA_TYPE, 'trivy/db', {
      counts: { ...result.counts, ...prefixed('skipped.', result.skipped) },
      schemaVersions: { ...SCHEMA_VERSIONS, trivyDb: String(TRIVY_DB_SCHEMA_VERSION), mapping: result.mappingVersion },
      kinds: ['advisory'],
    });
  },
};

// trivy:java-db: the Java index Trivy uses to identify jars by SHA-1 (SQLite), built from
// the Maven components with SHA-1 hashes in the planned SBOMs.
export const trivyJavaDbAdapter: ExportAdapter = {
  kind: 'trivy:java-db',
  name: 'stella.trivy-java-db',
  version: TRIVY_JAVA_MAPPING_VERSION,
  write: async (context) => {
    const now = await evidenceClock(context);
    const outDir = path.join(context.stagingDir, 'trivy', 'java-db');
    const result = await withWorkDir(context, (workDir) =>
      buildTrivyJavaDb({ artifacts: javaArtifacts(context), outDir, now, workDir }),
    );
    await rename(path.join(outDir, 'javadb.tar.gz'), path.join(context.stagingDir, 'trivy', 'java-db.bundle'));

    return output(context, result.files, 'javadb.tar.gz', 'trivy/java-db.bundle', TRIVY_JAVA_DB_MEDIA_TYPE, 'trivy/java-db', {
      counts: { ...result.counts, ...prefixed('skipped.', result.skipped) },
      schemaVersions: { trivyJavaDb: String(TRIVY_JAVA_DB_SCHEMA_VERSION), mapping: result.mappingVersion },
      kinds: ['sbom'],
    });
  },
};

async function* javaArtifacts(context: WriteContext): AsyncGenerator<JavaArtifact> {
  for await (const component of context.source.sbomComponents()) {
    const artifact = javaArtifactFromComponent(component);
    if (artifact) {
      yield artifact;
    }
  }
}

// Trivy's metadata carries dates; taking them from the evidence (its newest advisory)
// rather than the wall clock keeps the DB byte-identical for the same evidence.
async function evidenceClock(context: WriteContext): Promise<Date> {
  return (await context.source.latestAdvisoryModified()) ?? new Date(0);
}

async function withWorkDir<T>(context: WriteContext, build: (workDir: string) => Promise<T>): Promise<T> {
  const workDir = `${context.stagingDir}.trivy-work`;
  await removeQuietly(workDir);
  await mkdir(workDir, { recursive: true });
  try {
    return await build(workDir);
  } finally {
    await removeQuietly(workDir);
  }
}

function output(
  context: WriteContext,
  built: { path: string; sha256: string; size: number }[],
  archiveName: string,
  archivePath: string,
  archiveMediaType: string,
  folder: string,
  extra: { counts: Record<string, number>; schemaVersions: Record<string, string>; kinds: ('advisory' | 'sbom')[] },
): AdapterOutput {
  const files: ManifestFile[] = built.map((file) =>
    file.path === archiveName
      ? { path: archivePath, sha256: file.sha256, size: file.size, mediaType: archiveMediaType }
      : { path: `${folder}/${file.path}`, sha256: file.sha256, size: file.size, mediaType: mediaTypeOf(file.path) },
  );
  const lineage = Object.fromEntries(files.map((file) => [file.path, { kinds: extra.kinds }]));
  files.forEach((file) => context.onFileDone(file));

  // The database archive is what Trivy pulls on its own, so it gets a signature of its own.
  return {
    files,
    lineage,
    counts: extra.counts,
    schemaVersions: extra.schemaVersions,
    extraSignedFiles: [archivePath],
  };
}

function mediaTypeOf(file: string): string {
  if (file.endsWith('.json')) {
    return 'application/json';
  }

  return file.endsWith('.db') && file.includes('java') ? 'application/vnd.sqlite3' : 'application/vnd.etcd.bbolt';
}

function prefixed(prefix: string, values: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(values).map(([key, value]) => [`${prefix}${key}`, value]));
}
