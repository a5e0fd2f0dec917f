import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parse } from 'yaml';
import { jsonRawAdapter } from '../../../adapters/json/json-raw-adapter.js';
import { mirrorDeltaAdapter } from '../../../adapters/mirror/mirror-delta-adapter.js';
import { mirrorFullAdapter } from '../../../adapters/mirror/mirror-full-adapter.js';
import type { MirrorManifest } from '../../../adapters/mirror/mirror-layout.js';
import { importBundle } from '../../../mirror-reader/import-bundle.js';
import {
  startMirrorServer,
  type RunningMirrorServer,
} from '../../../mirror-reader/mirror-server.js';
import { sha256Hex } from '../../../store/evidence-store.js';
import { EVIDENCE } from '../../support/export-stack.js';
import {
  openMirrorTestStore,
  type MirrorTestStore,
  type SealedRun,
} from '../mirror/mirror-test-store.js';
import {
  CARRIERS,
  containsPlanted,
  plantedBytes,
  writePlantedCopies,
} from './planted-documents.js';

// A carrier ingested only after the base mirror, so that a delta has one to withhold.
const LATER_CARRIER = 'advisories/osv/go/GO-2024-2453.json';

describe('bundles with withheld raw documents', { timeout: 120_000 }, () => {
  let store: MirrorTestStore;
  let base: SealedRun;
  let raw: SealedRun;
  let delta: SealedRun;
  let fresh: SealedRun;
  const planted = new Map<string, string>(); // sha256 → fixture path

  before(async () => {
    store = await openMirrorTestStore();
    for (const relative of [...CARRIERS, LATER_CARRIER]) {
      planted.set(sha256Hex(await plantedBytes(relative)), relative);
    }
    await store.ingest([await writePlantedCopies(path.join(store.dir, 'first'), CARRIERS)]);
    await store.ingest([path.join(EVIDENCE, 'advisories', 'osv', 'go')]);
    base = await store.run(mirrorFullAdapter);
    raw = await store.run(jsonRawAdapter);
    await store.ingest([await writePlantedCopies(path.join(store.dir, 'later'), [LATER_CARRIER])]);
    delta = await store.run(mirrorDeltaAdapter, { base });
    fresh = await store.run(mirrorFullAdapter);
  });

  after(async () => {
    await store?.close();
  });

  describe('mirror:full write', () => {
    describe('when seven ingested documents carry planted credentials', () => {
      it('returns a manifest.yaml listing each under withheld by hash and pointers', async () => {
        const manifest = await mirrorManifest(base);
        const listed = (manifest.withheld ?? []).map((entry) => [entry.sha256, entry.reason]);
        const expected = [...planted].filter(([, relative]) => relative !== LATER_CARRIER);

        assert.deepEqual(
          listed.sort(),
          expected.map(([sha256]) => [sha256, 'secret_pattern']).sort(),
        );
        const pointers = manifest.withheld!.map((entry) => entry.pointers);
        assert.ok(pointers.every((list) => list.includes('/x_internal/password')));
      });

      it('returns no raw file for them and no file holding a planted value', async () => {
        const files = await bundleFiles(base.bundleDir);

        const rawFiles = files.filter((file) => file.includes('/raw/'));

        const hashOf = (file: string) => path.basename(file).split('.')[0];
        assert.deepEqual(rawFiles.filter((file) => planted.has(hashOf(file))), []);
        assert.ok(rawFiles.length > 0, 'no raw document was written at all');
        assert.deepEqual(await filesWithPlanted(base.bundleDir, files), []);
      });

      it('returns the same withheld list in the adapter output as in manifest.yaml', async () => {
        assert.deepEqual(base.output.withheld, (await mirrorManifest(base)).withheld);
      });
    });
  });

  describe('json:raw write', () => {
    describe('when the planted carriers include SBOMs', () => {
      it('returns the SBOMs under withheld and writes none of their bytes', async () => {
        const withheld = raw.output.withheld ?? [];
        const files = await bundleFiles(raw.bundleDir);

        assert.ok(withheld.length >= 2, `only ${withheld.length} SBOMs withheld`);
        assert.ok(withheld.every((entry) => entry.kind === 'sboms' && planted.has(entry.sha256)));
        assert.deepEqual(await filesWithPlanted(raw.bundleDir, files), []);
      });
    });
  });

  describe('mirror:delta write', () => {
    describe('when the one new document carries planted credentials', () => {
      it('returns a manifest.yaml that withholds exactly that document', async () => {
        const manifest = await mirrorManifest(delta);

        assert.deepEqual(
          (manifest.withheld ?? []).map((entry) => [entry.kind, entry.recordId, entry.sha256]),
          [['advisories', 'GO-2024-2453', sha256Hex(await plantedBytes(LATER_CARRIER))]],
        );
      });
    });
  });

  describe('mirror reader', () => {
    describe('when a withheld document is requested after base + delta', () => {
      it('returns 404 with the reason, as a mirror fed a fresh full bundle does', async () => {
        const patched = path.join(store.dir, 'mirror-patched');
        const direct = path.join(store.dir, 'mirror-direct');
        await importBundle({ root: patched, bundle: base.bundleDir });
        await importBundle({ root: patched, bundle: delta.bundleDir });
        await importBundle({ root: direct, bundle: fresh.bundleDir });
        const sha256 = sha256Hex(await plantedBytes(LATER_CARRIER));

        await withServer(patched, async (a) => {
          await withServer(direct, async (b) => {
            const [fromPatched, fromDirect] = [await get(a, sha256), await get(b, sha256)];
            assert.equal(fromPatched.status, 404);
            assert.deepEqual(fromPatched, fromDirect);
            assert.equal(fromPatched.body.details?.withheld.reason, 'secret_pattern');
            const stateA = await get(a, '/mirror/state');
            const stateB = await get(b, '/mirror/state');
            assert.deepEqual(stateA.body.documents, stateB.body.documents);
          });
        });
      });
    });

    describe('when a document that was never exported is requested', () => {
      it('returns 404 without withheld details', async () => {
        const root = path.join(store.dir, 'mirror-direct');

        await withServer(root, async (url) => {
          const answer = await get(url, 'f'.repeat(64));
          assert.deepEqual([answer.status, answer.body.details], [404, undefined]);
        });
      });
    });
  });
});

async function mirrorManifest(run: SealedRun): Promise<MirrorManifest> {
  const text = await readFile(path.join(run.bundleDir, 'manifest.yaml'), 'utf8');

  return parse(text) as MirrorManifest;
}

async function bundleFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });

  const files = entries.filter((e) => e.isFile());

  return files.map((e) => path.relative(dir, path.join(e.parentPath, e.name)));
}

// Plain files only: compressed parts hold normalized records, which never carry unknown
// fields (test/security/planted-secrets.test.ts opens those too).
async function filesWithPlanted(dir: string, files: string[]): Promise<string[]> {
  const found: string[] = [];
  for (const file of files.filter((name) => !name.endsWith('.zst'))) {
    const text = await readFile(path.join(dir, file), 'latin1');
    found.push(...containsPlanted(text).map((secret) => `${file}: ${secret}`));
  }

  return found;
}

interface Answer {
  status: number;
  body: { details?: { withheld: { reason: string } }; documents?: unknown };
}

async function get(url: string, target: string): Promise<Answer> {
  const pathname = target.startsWith('/') ? target : `/documents/${target}`;
  const response = await fetch(`${url}${pathname}`);
  const text = await response.text();

  const isJson = !response.ok || pathname.startsWith('/mirror');

  return { status: response.status, body: (isJson ? JSON.parse(text) : {}) as Answer['body'] };
}

async function withServer(root: string, use: (url: string) => Promise<void>): Promise<void> {
  const server: RunningMirrorServer = await startMirrorServer({ root, port: 0 });
  try {
    await use(server.url);
  } finally {
    await server.close();
  }
}
