import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parse } from 'yaml';
import { mirrorDeltaAdapter } from '../../../adapters/mirror/mirror-delta-adapter.js';
import { mirrorFullAdapter } from '../../../adapters/mirror/mirror-full-adapter.js';
import type { MirrorManifest } from '../../../adapters/mirror/mirror-layout.js';
import { jsonRawAdapter } from '../../../adapters/json/json-raw-adapter.js';
import type { StellaError } from '../../../domain/errors.js';
import { verifyBundle } from '../../../signing/verify-bundle.js';
import { sha256Hex } from '../../../store/evidence-store.js';
import { EVIDENCE } from '../../support/export-stack.js';
import { CHANGED, writeEvidenceChanges } from './evidence-changes.js';
import { openMirrorTestStore, type MirrorTestStore, type SealedRun } from './mirror-test-store.js';

const EXCLUDED = 'GHSA-29mw-wpgm-hmr9';

describe('mirror adapters', { timeout: 120_000 }, () => {
  let store: MirrorTestStore;
  let full: SealedRun;
  let again: SealedRun;
  let delta: SealedRun;

  before(async () => {
    store = await openMirrorTestStore();
    await store.ingest([EVIDENCE]);
    full = await store.run(mirrorFullAdapter);
    again = await store.run(mirrorFullAdapter, { profileConfig: { partRecords: 100 } });
    await store.ingest([await writeEvidenceChanges(path.join(store.dir, 'changes'))]);
    delta = await store.run(mirrorDeltaAdapter, { base: full, filters: { excludeAdvisoryIds: [EXCLUDED] } });
  });

  after(async () => {
    await store?.close();
  });

  describe('mirror:full write', () => {
    describe('when run over the shipped fixtures', () => {
      it('returns the record counts of the evidence', () => {
        assert.deepEqual(full.output.counts, { advisories: 249, vexStatements: 68, sboms: 13, rawDocuments: 278 });
      });

      it('writes a bundle that verifyBundle accepts', async () => {
        const result = await verifyBundle({ bundleDir: full.bundleDir });

        assert.deepEqual(result.failures, []);
      });

      it('writes each raw document once, byte for byte as ingested', async () => {
        const raw = full.output.files.filter((file) => /\/raw\//.test(file.path));
        const fixture = path.join(EVIDENCE, 'advisories/osv/ghsa/npm/GHSA-29mw-wpgm-hmr9.json');
        const bytes = await readFile(fixture);
        const copy = raw.find((file) => file.sha256 === sha256Hex(bytes));

        assert.equal(raw.length, 278);
        assert.equal(new Set(raw.map((file) => file.sha256)).size, 278);
        assert.deepEqual(await readFile(path.join(full.bundleDir, copy!.path)), bytes);
      });

      it('writes manifest.yaml with profile, filters, counts and state digests', async () => {
        const manifest = await readMirrorManifest(full);

        assert.equal(manifest.kind, 'full');
        assert.deepEqual(manifest.profile, { id: 'prof_mirror_full', kind: 'mirror:full' });
        assert.deepEqual(manifest.filters, {});
        assert.equal(manifest.counts.advisories, 249);
        assert.match(manifest.state_digest!.advisories, /^[0-9a-f]{64}$/);
        assert.deepEqual(manifest.sections, []);
      });

      it('indexes advisories by package', async () => {
        const index = JSON.parse(await readFile(path.join(full.bundleDir, 'indexes/advisories.index.json'), 'utf8'));

        assert.deepEqual(index.packages.npm.lodash, [
          'GHSA-29mw-wpgm-hmr9',
          'GHSA-35jh-r3h4-6jhm',
          'GHSA-4xc9-xhrj-v574',
          'GHSA-jf85-cpcp-j695',
          'GHSA-p6mc-m468-83gw',
        ]);
      });

      it('writes the dependency graph of each SBOM', async () => {
        const graphs = full.output.files.filter((file) => file.path.startsWith('sboms/graph/'));
        const withEdges = [];
        for (const file of graphs) {
          const graph = JSON.parse(await readFile(path.join(full.bundleDir, file.path), 'utf8'));
          if (graph.edges.length > 0) withEdges.push(graph.subject);
        }

        assert.equal(graphs.length, 13);
        assert.ok(withEdges.length >= 5, `graphs with edges: ${withEdges.join(', ')}`);
      });
    });

    describe('when run twice over the same evidence', () => {
      it('writes the same raw documents, indexes and graphs, byte for byte', async () => {
        const rest = (run: SealedRun) => run.output.files.filter((f) => !f.path.includes('/normalized/') && f.path !== 'manifest.yaml' && f.path !== 'README.md');

        assert.deepEqual(rest(again), rest(full));
      });
    });

    describe('when partRecords is smaller than the record count', () => {
      it('splits normalized records into parts and records them in the manifest', async () => {
        const manifest = await readMirrorManifest(again);

        assert.deepEqual(manifest.content.advisories.parts.map((p) => p.records), [100, 100, 49]);
        assert.deepEqual(manifest.state_digest, (await readMirrorManifest(full)).state_digest);
      });
    });
  });

  describe('mirror:delta write', () => {
    describe('after adding, revising and withdrawing advisories, new VEX and a new SBOM', () => {
      it('returns the change counts', () => {
        const counts = delta.output.counts;

        assert.deepEqual(
          [counts.advisoriesAdded, counts.advisoriesChanged, counts.advisoriesRemoved],
          [1, 2, 1],
        );
        assert.deepEqual([counts.vexAdded, counts.sbomsAdded, counts.rawDocuments], [2, 1, 5]);
      });

      it('writes only the changed slots', async () => {
        const lines = zstdLines(path.join(delta.bundleDir, 'advisories/normalized/advisories-0000.jsonl.zst'));
        const ids = lines.map((line) => JSON.parse(line).id).sort();

        assert.deepEqual(ids, [CHANGED.addedAdvisory, CHANGED.revisedAdvisory, CHANGED.withdrawnAdvisory].sort());
      });

      it('records the removed advisory as a tombstone', () => {
        const lines = zstdLines(path.join(delta.bundleDir, 'tombstones/advisories.jsonl.zst'));

        assert.deepEqual(lines, [JSON.stringify({ key: EXCLUDED })]);
      });

      it('names its base export and the base export.json hash', async () => {
        const manifest = await readMirrorManifest(delta);

        assert.equal(manifest.base_export_id, full.runId);
        assert.equal(manifest.base_manifest_sha256, full.manifestSha256);
      });

      it('writes a bundle that verifyBundle accepts', async () => {
        assert.deepEqual((await verifyBundle({ bundleDir: delta.bundleDir })).failures, []);
      });
    });

    describe('when no base is given', () => {
      it('throws bad_request', async () => {
        await assert.rejects(store.run(mirrorDeltaAdapter), (err: StellaError) => err.code === 'bad_request');
      });
    });

    describe('when the base is not a mirror export', () => {
      it('throws bad_request', async () => {
        const raw = await store.run(jsonRawAdapter);

        await assert.rejects(
          store.run(mirrorDeltaAdapter, { base: raw }),
          (err: StellaError) => err.code === 'bad_request' && /not a mirror export/.test(err.message),
        );
      });
    });
  });
});

async function readMirrorManifest(run: SealedRun): Promise<MirrorManifest> {
  return parse(await readFile(path.join(run.bundleDir, 'manifest.yaml'), 'utf8')) as MirrorManifest;
}

function zstdLines(file: string): string[] {
  return execFileSync('zstd', ['-dc', file]).toString('utf8').split('\n').filter(Boolean);
}
