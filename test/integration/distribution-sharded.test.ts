import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { bundlePaths } from '../../activities/bundle-paths.js';
import { writeOciLayout } from '../../adapters/mirror/oci-layout.js';
import type { DistributionView } from '../../api/routes/distributions.js';
import type { RunView } from '../../api/run-view.js';
import { listFiles } from '../../bundle/archive.js';
import { removeQuietly } from '../../bundle/files.js';
import { MANIFEST_PATH } from '../../bundle/manifest.js';
import { ociArtifactFor, type PublishedBundle } from '../../distribution/bundle-payloads.js';
import {
  BUNDLE_MEDIA_TYPES,
  OCI_INDEX_MEDIA_TYPE,
  type PackagedArtifact,
} from '../../distribution/oci/artifact.js';
import { pushArtifact, type OciPushResult } from '../../distribution/oci/push-artifact.js';
import { parseOciReference } from '../../distribution/oci/reference.js';
import { ingestPaths } from '../../ingest/ingest-paths.js';
import { packageRoot } from '../../platform/package-root.js';
import { EVIDENCE, startExportStack, type ExportStack } from '../support/export-stack.js';
import { distributeAndWait, exportAndWait } from '../support/runs.js';
import {
  crane,
  craneBlob,
  ensureCrane,
  registryAvailable,
  startRegistry,
  type TestRegistry,
} from '../support/registry.js';

const run = promisify(execFile);
const SHARD_BYTES = 64 * 1024;
const ORAS = process.env.ORAS ?? path.join(packageRoot(), '.tools', 'oras', 'v1.2.3', 'oras');

interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
}

interface OciDocument {
  mediaType: string;
  manifests?: Descriptor[];
  config?: Descriptor;
  layers?: Descriptor[];
}

// A bundle folder of the shape the mirror profiles write (meta files at the top, then
// advisories/, vex/, sboms/), large enough to be split at SHARD_BYTES.
async function writeBundle(dir: string): Promise<PublishedBundle> {
  const contents: Record<string, Buffer> = {
    'README.md': Buffer.from('# test bundle\n'),
    'advisories/osv.jsonl': randomBytes(40_000),
    'advisories/ghsa.jsonl': randomBytes(40_000),
    'vex/openvex.jsonl': randomBytes(30_000),
    'sboms/cyclonedx.jsonl': randomBytes(30_000),
  };
  const files = [];
  for (const [relative, bytes] of Object.entries(contents)) {
    await mkdir(path.dirname(path.join(dir, relative)), { recursive: true });
    await writeFile(path.join(dir, relative), bytes);
    const mediaType = 'application/x-ndjson';
    files.push({ path: relative, mediaType, sha256: hex(bytes), size: bytes.length });
  }
  const manifest = {
    schema: 'stella.export-manifest/v1',
    runId: 'run_sharded',
    tenant: 'default',
    profile: { id: 'prof_mirror_full', kind: 'mirror:full' },
    filters: {},
    files,
  };
  const exportJson = Buffer.from(JSON.stringify(manifest));
  await writeFile(path.join(dir, MANIFEST_PATH), exportJson);

  return {
    runId: 'run_sharded',
    profileKind: 'mirror:full',
    bundleDir: dir,
    // The archive is not pushed when the bundle is sharded; its hash only names the run.
    archive: { file: path.join(dir, 'none.tar.zst'), sha256: hex(exportJson), size: 0 },
    manifestSha256: hex(exportJson),
    finishedAt: new Date('2026-12-01T00:00:00Z'),
  };
}

const suite = { timeout: 300_000, skip: registryAvailable() };

describe('sharded bundles pushed to a registry', suite, () => {
  let registry: TestRegistry;
  let scratch: string;
  let bundle: PublishedBundle;
  let layoutDir: string;
  let artifact: PackagedArtifact;
  let pushed: OciPushResult;
  let target: string;
  const repository = () => `${registry.host}/stella/mirror`;

  before(async () => {
    await ensureCrane();
    scratch = await mkdtemp(path.join(os.tmpdir(), 'stella-sharded-'));
    registry = await startRegistry();
    bundle = await writeBundle(path.join(scratch, 'bundle'));
    layoutDir = path.join(scratch, 'layout');
    artifact = await ociArtifactFor(bundle, { shardBytes: SHARD_BYTES, layoutDir });
    target = `${repository()}:nightly`;
    pushed = await pushArtifact({ reference: parseOciReference(target), artifact });
  });

  after(async () => {
    await registry?.stop();
    await removeQuietly(scratch);
  });

  describe('pushArtifact', () => {
    describe('when the bundle is larger than the shard size', () => {
      it('returns an image index tagged and verified by its digest', async () => {
        const digest = (await crane(['digest', target])).trim();

        assert.equal(pushed.mediaType, OCI_INDEX_MEDIA_TYPE);
        assert.equal(digest, pushed.manifestDigest);
        assert.equal(pushed.reference, `${target}@${pushed.manifestDigest}`);
      });

      it('returns an index that names several manifests, each pushed by digest', async () => {
        const index = JSON.parse(await crane(['manifest', target])) as OciDocument;
        const names = (index.manifests ?? []).map((m) => m.digest);

        assert.equal(index.mediaType, OCI_INDEX_MEDIA_TYPE);
        assert.ok(names.length >= 2, `${names.length} manifests`);
        assert.deepEqual(names, pushed.manifests?.map((m) => m.digest));
      });

      it('returns manifests and blobs that crane pulls as the layout holds them', async () => {
        const index = await crane(['manifest', target]);
        assert.equal(index, await layoutBlob(layoutDir, pushed.manifestDigest));

        for (const child of (JSON.parse(index) as OciDocument).manifests ?? []) {
          const manifest = await crane(['manifest', `${repository()}@${child.digest}`]);
          assert.equal(manifest, await layoutBlob(layoutDir, child.digest), child.digest);
          for (const layer of (JSON.parse(manifest) as OciDocument).layers ?? []) {
            const blob = await craneBlob(`${repository()}@${layer.digest}`);
            assert.ok(blob.equals(await readFile(blobPath(layoutDir, layer.digest))), layer.digest);
          }
        }
      });

      it('returns layers that together restore every file of the bundle', async () => {
        const index = JSON.parse(await crane(['manifest', target])) as OciDocument;
        const titles: string[] = [];
        for (const child of index.manifests ?? []) {
          const manifest = JSON.parse(
            await crane(['manifest', `${repository()}@${child.digest}`]),
          ) as OciDocument;
          const layers = manifest.layers ?? [];
          titles.push(...layers.map((l) => l.annotations!['org.opencontainers.image.title']));
        }

        assert.deepEqual(titles.sort(), (await listFiles(bundle.bundleDir)).sort());
      });

      it('lets oras pull the tag into a folder equal to the bundle', async () => {
        const out = path.join(scratch, 'oras-pulled');
        await run(ORAS, ['pull', '--plain-http', target, '-o', out]);

        for (const file of await listFiles(bundle.bundleDir)) {
          const pulledBytes = await readFile(path.join(out, file));
          assert.ok(pulledBytes.equals(await readFile(path.join(bundle.bundleDir, file))), file);
        }
      });
    });

    describe('when the same sharded bundle is pushed again', () => {
      it('returns every blob as present and adds no blob to the registry', async () => {
        const before = await registry.blobDigests();
        const again = await pushArtifact({ reference: parseOciReference(target), artifact });

        assert.equal(again.manifestDigest, pushed.manifestDigest);
        assert.ok(again.blobs.every((blob) => blob.outcome === 'present'));
        assert.deepEqual(await registry.blobDigests(), before);
      });
    });
  });

  describe('ociArtifactFor', () => {
    describe('when a json bundle is within the shard size', () => {
      it('returns the one-manifest artifact of the .tar.zst and writes no layout', async () => {
        const unused = path.join(scratch, 'unused-layout');
        const json = { ...bundle, profileKind: 'json:raw' };
        const single = await ociArtifactFor(json, { shardBytes: 1 << 30, layoutDir: unused });

        assert.equal(single.children, undefined);
        assert.equal(single.blobs.length, 2);
        assert.equal(single.blobs[1].mediaType, BUNDLE_MEDIA_TYPES.layer);
        await assert.rejects(readFile(path.join(unused, 'index.json')), { code: 'ENOENT' });
      });
    });

    describe('when a mirror bundle is within the shard size', () => {
      it('returns one manifest of the layout whose layers are the bundle files', async () => {
        const layout = path.join(scratch, 'small-layout');
        const single = await ociArtifactFor(bundle, { shardBytes: 1 << 30, layoutDir: layout });
        const manifest = JSON.parse(single.manifest.toString('utf8')) as OciDocument;
        const titles = (manifest.layers ?? []).map(
          (layer) => layer.annotations!['org.opencontainers.image.title'],
        );

        assert.equal(single.children, undefined);
        assert.equal(single.mediaType, 'application/vnd.oci.image.manifest.v1+json');
        assert.deepEqual(titles.sort(), (await listFiles(bundle.bundleDir)).sort());
      });
    });
  });
});

describe('POST /export/runs/:id/distribute', suite, () => {
  describe('when a mirror bundle is larger than STELLA_OCI_SHARD_BYTES', () => {
    let stack: ExportStack;
    let registry: TestRegistry;
    let exported: RunView;
    let view: DistributionView;
    const saved = process.env.STELLA_OCI_SHARD_BYTES;

    before(async () => {
      registry = await startRegistry();
      // The worker inherits this environment, as in production.
      process.env.STELLA_OCI_SHARD_BYTES = String(SHARD_BYTES);
      stack = await startExportStack();
      await ingestPaths(stack.db, 'default', [EVIDENCE]);
      exported = await exportAndWait(stack, { profileId: 'prof_mirror_full' });
      view = await distributeAndWait(stack, exported.id, {
        type: 'oci',
        target: `${registry.host}/stella/mirror-full`,
      });
    });

    after(async () => {
      if (saved === undefined) {
        delete process.env.STELLA_OCI_SHARD_BYTES;
      } else {
        process.env.STELLA_OCI_SHARD_BYTES = saved;
      }
      await stack?.stop();
      await registry?.stop();
    });

    it('returns a succeeded distribution of an image index whose digest crane reads', async () => {
      const metadata = view.metadata as { mediaType: string; manifestDigest: string };
      const target = `${registry.host}/stella/mirror-full:${exported.id}`;

      assert.equal(view.state, 'succeeded', `${view.errorClass}: ${view.errorMessage}`);
      assert.equal(metadata.mediaType, OCI_INDEX_MEDIA_TYPE);
      assert.equal((await crane(['digest', target])).trim(), metadata.manifestDigest);
    });

    it('returns the index digest that stella mirror oci writes for the same bundle', async () => {
      const layout = path.join(stack.config.dataDir, 'check-layout');
      const bundleDir = bundlePaths(stack.config, { tenant: 'default', runId: exported.id }).final;
      const written = await writeOciLayout(bundleDir, layout, { shardBytes: SHARD_BYTES });

      assert.equal(written.descriptor.digest, view.metadata.manifestDigest);
      assert.equal(written.manifests.length, (view.metadata.manifests as unknown[]).length);
    });

    it('leaves no layout behind in the data folder', async () => {
      const leftovers = await readdir(path.join(stack.config.dataDir, 'tmp', 'oci-layouts')).catch(
        () => [],
      );

      assert.deepEqual(leftovers, []);
    });
  });
});

async function layoutBlob(layoutDir: string, digest: string): Promise<string> {
  return (await readFile(blobPath(layoutDir, digest))).toString('utf8');
}

function blobPath(layoutDir: string, digest: string): string {
  return path.join(layoutDir, 'blobs', 'sha256', digest.replace(/^sha256:/, ''));
}


function hex(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}
