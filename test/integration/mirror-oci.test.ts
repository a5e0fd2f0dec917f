import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { access, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { mirrorDeltaAdapter } from '../../adapters/mirror/mirror-delta-adapter.js';
import { mirrorFullAdapter } from '../../adapters/mirror/mirror-full-adapter.js';
import { writeOciLayout, type OciWriteResult } from '../../adapters/mirror/oci-layout.js';
import { parse } from 'yaml';
import { listFiles } from '../../bundle/archive.js';
import { digestFile } from '../../bundle/files.js';
import type { StellaError } from '../../domain/errors.js';
import { importBundle } from '../../mirror-reader/import-bundle.js';
import { packageRoot } from '../../platform/package-root.js';
import { EVIDENCE } from '../support/export-stack.js';
import { writeEvidenceChanges } from '../unit/mirror/evidence-changes.js';
import { openMirrorTestStore, type MirrorTestStore, type SealedRun } from '../unit/mirror/mirror-test-store.js';

const run = promisify(execFile);
const SHARD_BYTES = 64 * 1024;
const SHARD = 'com.stella.mirror.shard';
// Built by .ci/install-tools.sh from the Go module proxy: an OCI tool that is not ours.
const ORAS = process.env.ORAS ?? path.join(packageRoot(), '.tools', 'oras', 'v1.2.3', 'oras');

describe('mirror OCI layout', { timeout: 180_000 }, () => {
  let store: MirrorTestStore;
  let full: SealedRun;
  let delta: SealedRun;
  let layout: string;
  let written: { full: OciWriteResult; delta: OciWriteResult; sharded: OciWriteResult };

  before(async () => {
    await access(ORAS).catch(() => {
      throw new Error(`no oras at ${ORAS}: run .ci/install-tools.sh or set ORAS`);
    });
    store = await openMirrorTestStore();
    await store.ingest([EVIDENCE]);
    full = await store.run(mirrorFullAdapter);
    await store.ingest([await writeEvidenceChanges(path.join(store.dir, 'changes'))]);
    delta = await store.run(mirrorDeltaAdapter, { base: full });
    layout = path.join(store.dir, 'layout');
    written = {
      full: await writeOciLayout(full.bundleDir, layout, { tag: 'full' }),
      delta: await writeOciLayout(delta.bundleDir, layout, { tag: 'delta' }),
      sharded: await writeOciLayout(full.bundleDir, layout, {
        tag: 'full-sharded',
        shardBytes: SHARD_BYTES,
      }),
    };
  });

  after(async () => {
    await store?.close();
  });

  describe('oras pull of each tag', () => {
    it('restores the full and the delta bundle byte for byte', async () => {
      for (const [tag, bundle] of [['full', full], ['delta', delta]] as const) {
        const out = path.join(store.dir, `pulled-${tag}`);
        await run(ORAS, ['pull', '--oci-layout', `${layout}:${tag}`, '-o', out]);

        assert.deepEqual(await listFiles(out), await listFiles(bundle.bundleDir), tag);
        for (const file of await listFiles(out)) {
          assert.deepEqual(await readFile(path.join(out, file)), await readFile(path.join(bundle.bundleDir, file)), file);
        }
      }
    });
  });

  describe('oras manifest fetch', () => {
    it('returns the annotations the issue names', async () => {
      const { stdout } = await run(ORAS, ['manifest', 'fetch', '--oci-layout', `${layout}:full`]);
      const annotations = JSON.parse(stdout).annotations;

      assert.match(annotations['org.opencontainers.artifact.description'], /mirror:full export/);
      assert.equal(annotations['com.stella.export.profile'], 'test (mirror:full)');
      assert.equal(annotations['com.stella.export.filters'], '{}');
    });
  });

  describe('a bundle above the shard size', () => {
    it('returns manifests by content type under an index that oras copies intact', async () => {
      const copy = path.join(store.dir, 'copied');
      await run(ORAS, ['copy', '--from-oci-layout', `${layout}:full-sharded`, '--to-oci-layout', `${copy}:x`]);
      const index = await fetchManifest(`${copy}:x`);
      const groups = index.manifests!.map((m) => m.annotations['com.stella.mirror.shard']);

      assert.equal(index.annotations['com.stella.mirror.shard-bytes'], String(SHARD_BYTES));
      assert.deepEqual([...new Set(groups)], ['meta', 'advisories', 'vex', 'sboms']);
      assert.equal(written.sharded.manifests.length, index.manifests!.length);
    });

    it('returns numbered shards within the shard size where a content type is larger', async () => {
      const index = await fetchManifest(`${layout}:full-sharded`);
      const numbered = index.manifests!.filter((m) => m.annotations[`${SHARD}.count`]);

      assert.ok(numbered.length >= 2, 'no content type was split');
      for (const descriptor of index.manifests!) {
        const manifest = await fetchManifest(`${layout}@${descriptor.digest}`);
        const bytes = manifest.layers!.reduce((sum, layer) => sum + layer.size, 0);
        const { annotations } = descriptor;
        const label = `${annotations[SHARD]} ${annotations[`${SHARD}.index`] ?? ''}`;

        assert.ok(bytes <= SHARD_BYTES || manifest.layers!.length === 1, label);
        assert.deepEqual(manifest.annotations, descriptor.annotations, label);
      }
    });

    it('restores only that content type\'s files when oras pulls one shard by its tag', async () => {
      const index = await fetchManifest(`${layout}:full-sharded`);
      const vex = index.manifests!.filter((m) => m.annotations[SHARD] === 'vex');
      const tag = vex.length === 1 ? 'full-sharded.vex' : 'full-sharded.vex-1';
      const out = path.join(store.dir, 'pulled-vex-shard');
      await run(ORAS, ['pull', '--oci-layout', `${layout}:${tag}`, '-o', out]);
      const files = await listFiles(out);

      assert.ok(files.length > 0, tag);
      assert.deepEqual(files.filter((file) => !file.startsWith('vex/')), []);
    });

    it('returns the content types that manifest.yaml records for its sharding', async () => {
      const manifest = parse(await readFile(path.join(full.bundleDir, 'manifest.yaml'), 'utf8'));

      assert.deepEqual(manifest.sharding.oci_groups, ['meta', 'advisories', 'vex', 'sboms']);
    });
  });

  describe('writing a bundle into the layout that holds its base', () => {
    it('stores only shard manifests and the index when every file is already there', async () => {
      assert.equal(written.sharded.blobsWritten, written.sharded.manifests.length + 1);
      assert.equal(written.sharded.blobsReused, (await listFiles(full.bundleDir)).length);
    });

    it('reuses the blob of every delta file whose bytes the base has, by digest', async () => {
      const baseDigests = new Set(await digestsOf(full.bundleDir));
      const deltaDigests = await digestsOf(delta.bundleDir);
      const fresh = new Set(deltaDigests.filter((digest) => !baseDigests.has(digest)));
      const layers = (await fetchManifest(`${layout}:delta`)).layers!.map((l) => l.digest);

      assert.ok(deltaDigests.length > fresh.size, 'the delta shares no file with its base');
      assert.equal(written.delta.blobsWritten, fresh.size + 1); // and the delta's manifest
      assert.equal(written.delta.blobsReused, deltaDigests.length - fresh.size);
      assert.deepEqual(layers.sort(), deltaDigests.map((d) => `sha256:${d}`).sort());
    });
  });

  describe('mirror import from the layout', () => {
    it('returns the same state as the import of the folders', async () => {
      const fromLayout = path.join(store.dir, 'mirror-oci');
      const fromFolders = path.join(store.dir, 'mirror-folders');
      await importBundle({ root: fromLayout, bundle: layout, ociReference: 'full-sharded' });
      const a = await importBundle({ root: fromLayout, bundle: layout, ociReference: 'delta' });
      await importBundle({ root: fromFolders, bundle: full.bundleDir });
      const b = await importBundle({ root: fromFolders, bundle: delta.bundleDir });

      assert.deepEqual(a.stateDigest, b.stateDigest);
    });

    it('throws integrity_failed when a blob was changed', async () => {
      const blob = written.full.manifests[0].digest.replace('sha256:', '');
      const manifest = path.join(layout, 'blobs', 'sha256', blob);
      const original = await readFile(manifest);
      await writeFile(manifest, Buffer.concat([original, Buffer.from(' ')]));
      try {
        await assert.rejects(
          importBundle({ root: path.join(store.dir, 'mirror-bad'), bundle: layout, ociReference: 'full' }),
          (err: StellaError) => err.code === 'integrity_failed',
        );
      } finally {
        await writeFile(manifest, original);
      }
    });
  });
});

interface FetchedManifest {
  manifests?: { digest: string; annotations: Record<string, string> }[];
  layers?: { digest: string; size: number }[];
  annotations: Record<string, string>;
}

// Read through oras, not through our own reader.
async function fetchManifest(reference: string): Promise<FetchedManifest> {
  const { stdout } = await run(ORAS, ['manifest', 'fetch', '--oci-layout', reference]);

  return JSON.parse(stdout) as FetchedManifest;
}

async function digestsOf(dir: string): Promise<string[]> {
  const digests: string[] = [];
  for (const file of await listFiles(dir)) {
    digests.push((await digestFile(path.join(dir, file))).sha256);
  }

  return digests;
}
