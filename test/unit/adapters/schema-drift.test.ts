import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { adapterFor } from '../../../adapters/registry.js';
import { RecordGuard } from '../../../adapters/schema-guard.js';
import type { ProfileKind } from '../../../domain/profiles.js';
import { publishPolicy } from '../../../store/policy-store.js';
import { sql } from '../../../store/sql-dialect.js';
import { EVIDENCE, FIXTURES } from '../../support/export-stack.js';
import { CHANGED, writeEvidenceChanges } from '../mirror/evidence-changes.js';
import { openMirrorTestStore, type MirrorTestStore, type SealedRun } from '../mirror/mirror-test-store.js';

// Drift is simulated the way it would reach an adapter: a stored record gains a field the
// export schema does not list (the store's canonical line, or a component's hashes).

const ADVISORY_KINDS: ProfileKind[] = ['json:raw', 'json:policy', 'trivy:db', 'mirror:full'];
const IDENTITY = { kind: 'json:raw', name: 'stella.json-raw' };

describe('schema guard', { timeout: 300_000 }, () => {
  let store: MirrorTestStore;
  const clean = new Map<ProfileKind, SealedRun>();

  before(async () => {
    store = await openMirrorTestStore();
    await store.ingest([EVIDENCE]);
    const policy = await readFile(path.join(FIXTURES, 'policies', 'pol-v1.0.0.yaml'), 'utf8');
    await publishPolicy(store.db, store.tenant, { version: 'pol-v1.0.0', document: policy });
    for (const kind of [...ADVISORY_KINDS, 'trivy:java-db'] as ProfileKind[]) {
      clean.set(kind, await store.run(adapterFor(kind)));
    }
    clean.set('mirror:delta', await store.run(adapterFor('mirror:delta'), { base: clean.get('mirror:full') }));
    await store.ingest([await writeEvidenceChanges(path.join(store.dir, 'changes'))]);
    await addAdvisoryField(store, CHANGED.addedAdvisory, { epssScore: '0.97' });
  });

  after(async () => {
    await store?.close();
    stopLeakedCompressors();
  });

  describe('adapter write', () => {
    describe('when every record fits its schema', () => {
      it('returns a bundle for every adapter over the shipped fixtures', () => {
        assert.deepEqual([...clean.keys()].sort(), [
          'json:policy',
          'json:raw',
          'mirror:delta',
          'mirror:full',
          'trivy:db',
          'trivy:java-db',
        ]);
        assert.equal(clean.get('json:raw')!.output.counts.advisories, 249);
      });
    });

    for (const kind of ADVISORY_KINDS) {
      describe(`when a ${kind} advisory carries a field outside the schema`, () => {
        it('throws schema_mismatch naming the field and the adapter', async () => {
          await assert.rejects(store.run(adapterFor(kind)), {
            code: 'schema_mismatch',
            message: new RegExp(`^adapter ${kind} \\(stella\\.[a-z-]+\\) would emit advisory field "epssScore"`),
          });
        });
      });
    }

    describe('when a mirror:delta advisory carries a field outside the schema', () => {
      it('throws schema_mismatch naming the field and the adapter', async () => {
        const base = clean.get('mirror:full');

        await assert.rejects(store.run(adapterFor('mirror:delta'), { base }), {
          code: 'schema_mismatch',
          message: /^adapter mirror:delta \(stella\.mirror-delta\) would emit advisory field "epssScore"/,
        });
      });
    });

    describe('when a trivy:java-db component hash carries a field outside the schema', () => {
      it('throws schema_mismatch naming the nested field and the adapter', async () => {
        await store.db.$executeRaw(sql`
          UPDATE "sbom_components" SET "hashes" = '[{"alg":"SHA-1","content":"00","origin":"x"}]'
          WHERE "id" = (SELECT MIN("id") FROM "sbom_components")`);

        await assert.rejects(store.run(adapterFor('trivy:java-db')), {
          code: 'schema_mismatch',
          message: /^adapter trivy:java-db \(stella\.trivy-java-db\) .*"hashes\[0\]\.origin"/,
        });
      });
    });
  });
});

describe('RecordGuard', () => {
  describe('line', () => {
    describe('when a nested field is outside the schema', () => {
      it('throws schema_mismatch with the field path in the details', () => {
        const line = JSON.stringify({ ...advisory(), affected: [{ ...affected(), cpe: 'x' }] });

        assert.throws(() => new RecordGuard(IDENTITY, 'advisory').line(line), {
          code: 'schema_mismatch',
          details: { adapter: 'json:raw', adapterName: 'stella.json-raw', recordType: 'advisory', field: 'affected[0].cpe' },
        });
      });
    });

    describe('when every field is in the schema', () => {
      it('returns the line unchanged', () => {
        const line = JSON.stringify(advisory());

        assert.equal(new RecordGuard(IDENTITY, 'advisory').line(line), line);
      });
    });
  });

  describe('check', () => {
    describe('when a policy decision or consensus record gains a field', () => {
      it('throws schema_mismatch naming it', () => {
        const guard = (type: 'policyDecision' | 'vexConsensus') =>
          new RecordGuard({ kind: 'json:policy', name: 'stella.json-policy' }, type);

        assert.throws(() => guard('policyDecision').check({ findingId: 'f', owner: 'x' }), {
          code: 'schema_mismatch',
          message: /policyDecision field "owner"/,
        });
        assert.throws(() => guard('vexConsensus').check({ statements: [{ ref: 'r', note: 1 }] }), {
          code: 'schema_mismatch',
          message: /vexConsensus field "statements\[0\]\.note"/,
        });
      });
    });
  });

  describe('project', () => {
    describe('when a record is wider than its schema', () => {
      it('returns only the allow-listed fields, at every depth', () => {
        const guard = new RecordGuard(IDENTITY, 'sbomComponent');
        const wide = { name: 'a', extra: 1, hashes: [{ alg: 'SHA-1', content: '00', x: 2 }] };

        assert.deepEqual(guard.project(wide), { name: 'a', hashes: [{ alg: 'SHA-1', content: '00' }] });
      });
    });
  });
});

// Known bug outside this test (bundle/jsonl-zst.ts with simple-zstd): when the line source
// throws mid-stream, the pipeline rejects but the `zstd` child it spawned keeps running
// and holds the event loop open. Only the compressors this test process started are ended.
function stopLeakedCompressors(): void {
  let listing = '';
  try {
    listing = execFileSync('ps', ['-o', 'pid=,comm=', '--ppid', String(process.pid)], {
      encoding: 'utf8',
    });
  } catch {
    return; // ps exits 1 when there are no children
  }
  for (const [pid, command] of listing.trim().split('\n').map((line) => line.trim().split(/\s+/))) {
    if (command === 'zstd') process.kill(Number(pid));
  }
}

async function addAdvisoryField(store: MirrorTestStore, advisoryId: string, extra: Record<string, string>) {
  const rows = await store.db.$queryRaw<{ id: string; canonical: string }[]>(sql`
    SELECT "id", "canonical" FROM "advisories" WHERE "advisoryId" = ${advisoryId}`);
  assert.equal(rows.length, 1);
  const canonical = JSON.stringify({ ...JSON.parse(rows[0].canonical), ...extra });
  await store.db.$executeRaw(sql`UPDATE "advisories" SET "canonical" = ${canonical} WHERE "id" = ${rows[0].id}`);
}

function affected() {
  return { ecosystem: 'npm', name: 'lodash', ranges: [], versions: [], fixed: [] };
}

function advisory() {
  return {
    schema: 'stella.advisory/v1',
    id: 'GHSA-x',
    aliases: [],
    source: 'ghsa',
    severity: [],
    cwes: [],
    references: [],
    affected: [affected()],
    documentSha256: '00',
  };
}
