import assert from 'node:assert/strict';
import { createWriteStream } from 'node:fs';
import { cp, readFile, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { after, before, describe, it } from 'node:test';
import { ZSTDCompress } from 'simple-zstd';
import tar from 'tar-stream';
import { mirrorDeltaAdapter } from '../../../adapters/mirror/mirror-delta-adapter.js';
import { mirrorFullAdapter } from '../../../adapters/mirror/mirror-full-adapter.js';
import { packTarZst } from '../../../bundle/archive.js';
import type { StellaError } from '../../../domain/errors.js';
import { importBundle } from '../../../mirror-reader/import-bundle.js';
import { startMirrorServer, type RunningMirrorServer } from '../../../mirror-reader/mirror-server.js';
import { EVIDENCE } from '../../support/export-stack.js';
import { CHANGED, writeEvidenceChanges } from './evidence-changes.js';
import { openMirrorTestStore, type MirrorTestStore, type SealedRun } from './mirror-test-store.js';

const FILTERS = { excludeAdvisoryIds: ['GHSA-29mw-wpgm-hmr9'] };

const QUERIES = [
  '/advisories?ecosystem=npm&name=lodash',
  `/advisories?ecosystem=npm&name=${CHANGED.addedPackage}`,
  `/advisories/${CHANGED.revisedAdvisory}`,
  `/advisories/${CHANGED.withdrawnAdvisory}`,
  '/advisories/CVE-2021-23337',
  '/advisories/GHSA-29mw-wpgm-hmr9',
  `/vex?vulnerability=${CHANGED.newVulnerability}`,
  `/vex?product=${encodeURIComponent(CHANGED.newVexProduct)}`,
  `/sboms?subject=${CHANGED.newSbomSubject}`,
  '/sboms?subject=juice-shop',
];

describe('mirror reader', { timeout: 120_000 }, () => {
  let store: MirrorTestStore;
  let full: SealedRun;
  let delta: SealedRun;
  let fresh: SealedRun;

  before(async () => {
    store = await openMirrorTestStore();
    await store.ingest([EVIDENCE]);
    full = await store.run(mirrorFullAdapter);
    await store.ingest([await writeEvidenceChanges(path.join(store.dir, 'changes'))]);
    delta = await store.run(mirrorDeltaAdapter, { base: full, filters: FILTERS });
    fresh = await store.run(mirrorFullAdapter, { filters: FILTERS });
  });

  after(async () => {
    await store?.close();
  });

  describe('import of a full bundle then its delta', () => {
    it('answers every query exactly as a mirror fed a fresh full bundle', async () => {
      const patched = root('patched');
      const direct = root('direct');
      await importBundle({ root: patched, bundle: full.bundleDir });
      await importBundle({ root: patched, bundle: delta.bundleDir });
      await importBundle({ root: direct, bundle: fresh.bundleDir });

      await withServers([patched, direct], async ([a, b]) => {
        for (const query of QUERIES) {
          assert.deepEqual(await answer(a, query), await answer(b, query), query);
        }
        const [stateA, stateB] = [await state(a), await state(b)];
        assert.deepEqual(
          [stateA.stateDigest, stateA.indexDigest, stateA.documents],
          [stateB.stateDigest, stateB.indexDigest, stateB.documents],
        );
      });
    });

    it('serves the revised and the withdrawn version, not the old ones', async () => {
      const patched = root('versions');
      await importBundle({ root: patched, bundle: full.bundleDir });
      await importBundle({ root: patched, bundle: delta.bundleDir });

      await withServers([patched], async ([server]) => {
        const revised = (await answer(server, `/advisories/${CHANGED.revisedAdvisory}`)).body.advisories;
        const withdrawn = (await answer(server, `/advisories/${CHANGED.withdrawnAdvisory}`)).body.advisories;
        assert.equal(revised.length, 1);
        assert.match(revised[0].summary, /\(revised\)$/);
        assert.equal(withdrawn[0].withdrawn, '2030-01-03T00:00:00Z');
        assert.equal((await answer(server, '/advisories/GHSA-29mw-wpgm-hmr9')).status, 404);
      });
    });
  });

  describe('import from a .tar.zst', () => {
    it('returns the same state as from the folder', async () => {
      const archive = path.join(store.dir, 'full.tar.zst');
      await packTarZst(full.bundleDir, archive);

      const fromArchive = await importBundle({ root: root('archive'), bundle: archive });
      const fromFolder = await importBundle({ root: root('folder'), bundle: full.bundleDir });

      assert.deepEqual(fromArchive.stateDigest, fromFolder.stateDigest);
    });
  });

  describe('import of a delta', () => {
    describe('when the mirror does not hold its base', () => {
      it('throws conflict naming the base export', async () => {
        await assert.rejects(
          importBundle({ root: root('empty'), bundle: delta.bundleDir }),
          (err: StellaError) => err.code === 'conflict' && err.message.includes(full.runId),
        );
      });
    });

    describe('when one byte of a record file was changed', () => {
      it('throws integrity_failed and leaves the mirror as it was', async () => {
        const mirror = root('tampered');
        const before = await importBundle({ root: mirror, bundle: full.bundleDir });
        const copy = path.join(store.dir, 'tampered-delta');
        await cp(delta.bundleDir, copy, { recursive: true });
        await flipOneByte(path.join(copy, 'advisories/normalized/advisories-0000.jsonl.zst'));

        await assert.rejects(importBundle({ root: mirror, bundle: copy }), (err: StellaError) => err.code === 'integrity_failed');
        await withServers([mirror], async ([server]) => {
          const now = await state(server);
          assert.deepEqual(now.stateDigest, before.stateDigest);
          assert.equal(now.head.runId, full.runId);
        });
      });
    });
  });

  describe('import of a signed bundle that breaks while being applied', () => {
    it('throws integrity_failed and leaves the mirror as it was', async () => {
      const mirror = root('rollback');
      const before = await importBundle({ root: mirror, bundle: full.bundleDir });
      const copy = path.join(store.dir, 'bad-digest-full');
      await cp(fresh.bundleDir, copy, { recursive: true });
      const manifestPath = path.join(copy, 'manifest.yaml');
      const manifest = await readFile(manifestPath, 'utf8');
      await writeFile(manifestPath, manifest.replace(/advisories: [0-9a-f]{64}/, `advisories: '${'0'.repeat(64)}'`));
      await store.reseal(copy);

      await assert.rejects(importBundle({ root: mirror, bundle: copy }), (err: StellaError) => err.code === 'integrity_failed' && /state digest/.test(err.message));
      await withServers([mirror], async ([server]) => {
        const now = await state(server);
        assert.deepEqual(now.stateDigest, before.stateDigest);
        assert.equal(now.head.runId, full.runId);
      });
    });
  });

  describe('import of a bundle with a path-escaping entry', () => {
    it('throws integrity_failed for a .tar.zst entry with ".."', async () => {
      const archive = path.join(store.dir, 'escape.tar.zst');
      await writeTarZst(archive, [['export.json', '{}'], ['../escaped.txt', 'x']]);

      await assert.rejects(importBundle({ root: root('escape'), bundle: archive }), (err: StellaError) => err.code === 'integrity_failed');
    });

    it('throws integrity_failed for a folder holding a symbolic link', async () => {
      const copy = path.join(store.dir, 'linked-full');
      await cp(full.bundleDir, copy, { recursive: true });
      await symlink('/etc/hostname', path.join(copy, 'advisories', 'link.json'));

      await assert.rejects(importBundle({ root: root('linked'), bundle: copy }), (err: StellaError) => err.code === 'integrity_failed');
    });
  });

  function root(name: string): string {
    return path.join(store.dir, 'mirrors', name);
  }
});

async function withServers(roots: string[], body: (servers: RunningMirrorServer[]) => Promise<void>) {
  const servers = await Promise.all(roots.map((root) => startMirrorServer({ root, port: 0 })));
  try {
    await body(servers);
  } finally {
    await Promise.all(servers.map((server) => server.close()));
  }
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
async function answer(server: RunningMirrorServer, query: string): Promise<{ status: number; body: any }> {
  const response = await fetch(`${server.url}${query}`);

  return { status: response.status, body: await response.json() };
}

async function state(server: RunningMirrorServer) {
  return (await answer(server, '/mirror/state')).body;
}

async function flipOneByte(file: string) {
  const bytes = await readFile(file);
  const at = Math.floor(bytes.length / 2);
  bytes[at] = bytes[at] ^ 0x01;
  await writeFile(file, bytes);
}

async function writeTarZst(file: string, entries: [string, string][]) {
  const pack = tar.pack();
  const written = pipeline(pack, ZSTDCompress(3), createWriteStream(file));
  for (const [name, text] of entries) {
    pack.entry({ name }, text);
  }
  pack.finalize();
  await written;
}
