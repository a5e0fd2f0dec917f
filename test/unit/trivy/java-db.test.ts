import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';

import Database from 'better-sqlite3';

import {
  type JavaArtifact,
  buildTrivyJavaDb,
  javaArtifactFromComponent,
} from '../../../adapters/trivy/java-db.js';

const dir = mkdtempSync(join(tmpdir(), 'trivy-java-unit-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const now = new Date('2026-09-01T00:00:00Z');
let outNumber = 0;

const artifact = (overrides: Partial<JavaArtifact>): JavaArtifact => ({
  groupId: 'org.apache.logging.log4j',
  artifactId: 'log4j-core',
  version: '2.14.1',
  sha1: '9141212b8507ab50a45525b545b39d224614528b',
  archiveType: 'jar',
  ...overrides,
});

async function* iterate(items: JavaArtifact[]): AsyncGenerator<JavaArtifact> {
  yield* items;
}

async function build(items: JavaArtifact[]) {
  const outDir = join(dir, `out${outNumber++}`);
  const result = await buildTrivyJavaDb({ artifacts: iterate(items), outDir, now });

  return { outDir, result, db: new Database(join(outDir, 'trivy-java.db'), { readonly: true }) };
}

describe('buildTrivyJavaDb', () => {
  describe('when given artifacts of two groups', () => {
    it('returns the trivy-java-db schema with artifacts and raw SHA-1 indices', async () => {
      const { db, result } = await build([
        artifact({
          groupId: 'log4j',
          artifactId: 'log4j',
          version: '1.2.17',
          sha1: 'a'.repeat(40),
        }),
        artifact({}),
      ]);
      const tables = db.prepare('SELECT name FROM sqlite_master ORDER BY name').all();
      const rows = db
        .prepare(
          'SELECT a.id, a.group_id, a.artifact_id, i.version, hex(i.sha1) AS sha1, ' +
            'i.archive_type FROM indices i JOIN artifacts a ON a.id = i.artifact_id ORDER BY a.id',
        )
        .all();

      assert.deepEqual(
        tables.map((t) => (t as { name: string }).name),
        ['artifacts', 'artifacts_idx', 'indices', 'indices_artifact_idx', 'indices_sha1_idx'],
      );
      assert.deepEqual(rows, [
        {
          id: 1,
          group_id: 'log4j',
          artifact_id: 'log4j',
          version: '1.2.17',
          sha1: 'A'.repeat(40),
          archive_type: 'jar',
        },
        {
          id: 2,
          group_id: 'org.apache.logging.log4j',
          artifact_id: 'log4j-core',
          version: '2.14.1',
          sha1: '9141212B8507AB50A45525B545B39D224614528B',
          archive_type: 'jar',
        },
      ]);
      assert.deepEqual(result.counts, { artifacts: 2, indices: 2 });
      db.close();
    });
  });

  describe('when two rows share a SHA-1', () => {
    it('returns the row without classifier and counts the other as skipped', async () => {
      const sources = artifact({ version: '2.14.1', classifier: 'sources' });
      const { db, result } = await build([sources, artifact({ version: '2.14.0' })]);
      const versions = db.prepare('SELECT version FROM indices').all();

      assert.deepEqual(versions, [{ version: '2.14.0' }]);
      assert.deepEqual(result.skipped, { duplicate_sha1: 1 });
      db.close();
    });
  });

  describe('when the same artifacts arrive in another order', () => {
    it('returns byte-identical files', async () => {
      const items = Array.from({ length: 50 }, (_, i) =>
        artifact({
          artifactId: `lib-${i % 7}`,
          version: `1.${i}`,
          sha1: i.toString(16).padStart(40, '0'),
        }),
      );
      const first = await build(items);
      const second = await build([...items].reverse());
      first.db.close();
      second.db.close();

      assert.deepEqual(second.result.files, first.result.files);
    });
  });

  describe('when a SHA-1 is not 40 hex digits', () => {
    it('throws schema_mismatch naming the field', async () => {
      await assert.rejects(build([artifact({ sha1: 'abc' })]), {
        code: 'schema_mismatch',
        message: /sha1/,
      });
    });
  });
});

describe('javaArtifactFromComponent', () => {
  describe('when a component has a Maven purl and a SHA-1', () => {
    it('returns its coordinates, lower-case digest and classifier', () => {
      const component = {
        name: 'log4j-core',
        purl: 'pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1?classifier=tests',
        hashes: [{ alg: 'SHA-1', content: '9141212B8507AB50A45525B545B39D224614528B' }],
      };

      assert.deepEqual(javaArtifactFromComponent(component), {
        groupId: 'org.apache.logging.log4j',
        artifactId: 'log4j-core',
        version: '2.14.1',
        sha1: '9141212b8507ab50a45525b545b39d224614528b',
        archiveType: 'jar',
        classifier: 'tests',
      });
    });
  });

  describe('when the purl is not Maven or no SHA-1 is known', () => {
    it('returns null', () => {
      const npm = {
        name: 'x',
        purl: 'pkg:npm/x@1',
        hashes: [{ alg: 'SHA-1', content: 'a'.repeat(40) }],
      };
      const noHash = { name: 'y', purl: 'pkg:maven/g/y@1', hashes: [] };

      assert.equal(javaArtifactFromComponent(npm), null);
      assert.equal(javaArtifactFromComponent(noHash), null);
    });
  });
});
