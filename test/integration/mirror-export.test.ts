import assert from 'node:assert/strict';
import { createWriteStream } from 'node:fs';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { after, before, describe, it } from 'node:test';
import { ZSTDCompress } from 'simple-zstd';
import tar from 'tar-stream';
import type { RunView } from '../../api/run-view.js';
import { packTarZst } from '../../bundle/archive.js';
import type { ExportManifest } from '../../bundle/manifest.js';
import { extractTarZst } from '../../bundle/extract.js';
import { removeQuietly } from '../../bundle/files.js';
import { downloadBundle } from '../../cli/download.js';
import { ingestPaths } from '../../ingest/ingest-paths.js';
import { importBundle } from '../../mirror-reader/import-bundle.js';
import { startMirrorServer, type RunningMirrorServer } from '../../mirror-reader/mirror-server.js';
import { runCli } from '../support/cli.js';
import { EVIDENCE, startExportStack, type ExportStack } from '../support/export-stack.js';
import { exportAndWait } from '../support/runs.js';
import { CHANGED, writeEvidenceChanges } from '../unit/mirror/evidence-changes.js';

const QUERIES = [
  '/advisories?ecosystem=npm&name=lodash',
  `/advisories?ecosystem=npm&name=${CHANGED.addedPackage}`,
  `/advisories/${CHANGED.addedAdvisory}`,
  `/advisories/${CHANGED.revisedAdvisory}`,
  `/advisories/${CHANGED.withdrawnAdvisory}`,
  '/advisories/GO-2020-0001',
  `/vex?vulnerability=${CHANGED.newVulnerability}`,
  `/vex?product=${encodeURIComponent(CHANGED.newVexProduct)}`,
  `/sboms?subject=${CHANGED.newSbomSubject}`,
  '/sboms?subject=juice-shop',
];

describe('mirror export through Temporal', { timeout: 300_000 }, () => {
  let stack: ExportStack;
  let scratch: string;
  const archives = { full: '', delta: '', fresh: '' };
  let fullRun: RunView;
  let deltaRun: RunView;

  before(async () => {
    stack = await startExportStack();
    scratch = await mkdtemp(path.join(os.tmpdir(), 'stella-mirror-it-'));
    await ingestPaths(stack.db, 'default', [EVIDENCE]);
    fullRun = await exportAndWait(stack, { profileId: 'prof_mirror_full' });
    archives.full = await download(stack, fullRun.id, 'full');
    await ingestPaths(stack.db, 'default', [await writeEvidenceChanges(path.join(scratch, 'changes'))]);
    deltaRun = await exportAndWait(stack, { profileId: 'prof_mirror_delta', baseRunId: fullRun.id });
    archives.delta = await download(stack, deltaRun.id, 'delta');
    const fresh = await exportAndWait(stack, { profileId: 'prof_mirror_full' });
    archives.fresh = await download(stack, fresh.id, 'fresh');
  });

  after(async () => {
    await stack?.stop();
    if (scratch) await removeQuietly(scratch);
  });

  describe('mirror:full run', () => {
    it('returns a bundle that carries the VEX consensus of its statements', async () => {
      const manifest = await stack.client().json<ExportManifest>('GET', `/export/runs/${fullRun.id}/manifest`);
      const paths = manifest.files.map((file) => file.path);

      assert.ok(paths.includes('consensus/vex_consensus.jsonl'), paths.join(', '));
    });
  });

  describe('mirror:delta run', () => {
    it('returns a bundle that carries only the changed records', async () => {
      const manifest = await stack.client().json<ExportManifest>('GET', `/export/runs/${deltaRun.id}/manifest`);

      assert.deepEqual(
        [manifest.counts.advisories, manifest.counts.vexStatements, manifest.counts.sboms],
        [3, 2, 1],
      );
      assert.equal(manifest.base?.runId, fullRun.id);
    });
  });

  describe('stella mirror import of full then delta', () => {
    it('answers every query exactly as a mirror fed a fresh full export', async () => {
      const patched = path.join(scratch, 'mirror-patched');
      const direct = path.join(scratch, 'mirror-direct');
      for (const archive of [archives.full, archives.delta]) {
        const result = await runCli(['mirror', 'import', archive, '--root', patched, '--json']);
        assert.equal(result.code, 0, result.stderr);
      }
      await importBundle({ root: direct, bundle: archives.fresh });

      await withServers([patched, direct], async ([a, b]) => {
        for (const query of QUERIES) {
          const [left, right] = [await answer(a, query), await answer(b, query)];
          assert.equal(left.status, 200, query);
          assert.deepEqual(left, right, query);
        }
        const [stateA, stateB] = [await answer(a, '/mirror/state'), await answer(b, '/mirror/state')];
        assert.deepEqual(stateA.body.stateDigest, stateB.body.stateDigest);
        assert.deepEqual(stateA.body.indexDigest, stateB.body.indexDigest);
        assert.deepEqual(stateA.body.documents, stateB.body.documents);
      });
    });
  });

  describe('stella mirror import of a tampered delta', () => {
    it('exits 6 and leaves the mirror on the full export', async () => {
      const mirror = path.join(scratch, 'mirror-tampered');
      await importBundle({ root: mirror, bundle: archives.full });
      const unpacked = path.join(scratch, 'tampered');
      await extractTarZst(archives.delta, unpacked);
      await flipOneByte(path.join(unpacked, 'manifest.yaml'));
      const tampered = path.join(scratch, 'tampered.tar.zst');
      await packTarZst(unpacked, tampered);

      const result = await runCli(['mirror', 'import', tampered, '--root', mirror]);
      const status = await runCli(['mirror', 'status', '--root', mirror, '--json']);

      assert.equal(result.code, 6, result.stderr);
      assert.match(result.stderr, /integrity_failed/);
      assert.equal(JSON.parse(status.stdout).head.kind, 'full');
    });
  });

  describe('stella mirror import of a bundle with a path-escaping entry', () => {
    it('exits 6 and writes nothing outside', async () => {
      const archive = path.join(scratch, 'escape.tar.zst');
      const pack = tar.pack();
      const written = pipeline(pack, ZSTDCompress(3), createWriteStream(archive));
      pack.entry({ name: 'export.json' }, '{}');
      pack.entry({ name: '../../mirror-escape.txt' }, 'escaped');
      pack.finalize();
      await written;

      const result = await runCli(['mirror', 'import', archive, '--root', path.join(scratch, 'mirror-escape')]);

      assert.equal(result.code, 6, result.stderr);
      await assert.rejects(readFile(path.join(os.tmpdir(), 'mirror-escape.txt')));
    });
  });
});

async function download(stack: ExportStack, runId: string, name: string): Promise<string> {
  const archive = path.join(path.dirname(stack.config.exportsDir), `${name}.tar.zst`);
  await downloadBundle(stack.client(), runId, archive);

  return archive;
}

async function withServers(roots: string[], body: (servers: RunningMirrorServer[]) => Promise<void>) {
  const servers = await Promise.all(roots.map((root) => startMirrorServer({ root, port: 0 })));
  try {
    await body(servers);
  } finally {
    await Promise.all(servers.map((server) => server.close()));
  }
}

async function answer(server: RunningMirrorServer, query: string): Promise<{ status: number; body: any }> {
  const response = await fetch(`${server.url}${query}`);

  return { status: response.status, body: await response.json() };
}

async function flipOneByte(file: string) {
  const bytes = await readFile(file);
  const at = Math.floor(bytes.length / 2);
  bytes[at] = bytes[at] ^ 0x01;
  await writeFile(file, bytes);
}
