import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { access, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { mirrorDeltaAdapter } from '../../adapters/mirror/mirror-delta-adapter.js';
import { mirrorFullAdapter } from '../../adapters/mirror/mirror-full-adapter.js';
import { writeOciLayout, type OciWriteResult } from '../../adapters/mirror/oci-layout.js';
import { listFiles } from '../../bundle/archive.js';
import type { StellaError } from '../../domain/errors.js';
import { importBundle } from '../../mirror-reader/import-bundle.js';
import { packageRoot } from '../../platform/package-root.js';
import { EVIDENCE } from '../support/export-stack.js';
import { writeEvidenceChanges } from '../unit/mirror/evidence-changes.js';
import { openMirrorTestStore, type MirrorTestStore, type SealedRun } from '../unit/mirror/mirror-test-store.js';

const run = promisify(execFile);
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
      sharded: await writeOciLayout(full.bundleDir, layout, { tag: 'full-sharded', shardBytes: 64 * 1024 }),
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
    it('returns one manifest per content type under an index that oras copies intact', async () => {
      const copy = path.join(store.dir, 'copied');
      await run(ORAS, ['copy', '--from-oci-layout', `${layout}:full-sharded`, '--to-oci-layout', `${copy}:x`]);
      const { stdout } = await run(ORAS, ['manifest', 'fetch', '--oci-layout', `${copy}:x`]);
      const shards = JSON.parse(stdout).manifests.map((m: { annotations: Record<string, string> }) => m.annotations['com.stella.mirror.shard']);

      assert.deepEqual(shards, ['meta', 'advisories', 'vex', 'sboms']);
    });
  });

  describe('writing a bundle into the layout that holds its base', () => {
    it('stores only blobs the layout does not already have', () => {
      assert.equal(written.sharded.blobsWritten, 5); // four shard manifests and the index
      assert.ok(written.delta.blobsReused >= 1); // the key set at least
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
