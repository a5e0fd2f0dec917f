import assert from 'node:assert/strict';
import { cp, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { RunView } from '../../api/run-view.js';
import { extractTarZst } from '../../bundle/extract.js';
import type { ExportManifest } from '../../bundle/manifest.js';
import { downloadBundle } from '../../cli/download.js';
import { waitForRun } from '../../cli/wait-for-run.js';
import { StellaError } from '../../domain/errors.js';
import { ingestPaths } from '../../ingest/ingest-paths.js';
import { runCli } from '../support/cli.js';
import { EVIDENCE, startExportStack, stellaEnv, type ExportStack } from '../support/export-stack.js';

describe('json:raw export', { timeout: 300_000 }, () => {
  let stack: ExportStack;
  let first: RunView;
  let bundleDir: string;
  let scratch: string;

  before(async () => {
    stack = await startExportStack();
    scratch = await mkdtemp(path.join(os.tmpdir(), 'stella-json-raw-'));
    await ingestPaths(stack.db, 'default', [EVIDENCE]);
    first = await exportAndWait(stack, 'default');
    bundleDir = path.join(scratch, 'first');
    await downloadAndUnpack(stack, first.id, bundleDir);
  });

  after(async () => {
    await stack?.stop();
  });

  describe('run over the shipped fixtures', () => {
    it('returns a succeeded run with the record counts of the evidence', () => {
      assert.equal(first.state, 'succeeded');
      assert.equal(first.counts?.advisories, 249);
      assert.ok((first.counts?.vexStatements ?? 0) > 0);
      assert.ok((first.counts?.sboms ?? 0) > 0);
    });

    it('returns a bundle that `stella export verify` accepts with exit 0', async () => {
      const result = await runCli(['export', 'verify', bundleDir, '--json']);

      assert.equal(result.code, 0, result.stderr);
      assert.equal(JSON.parse(result.stdout).ok, true);
    });

    it('writes canonical JSONL: one record a line, keys sorted', async () => {
      const manifest = await readManifest(bundleDir);
      const advisories = manifest.files.find((f) => f.path === 'advisories/normalized.jsonl.zst');

      assert.equal(advisories?.records, 249);
      assert.equal(advisories?.mediaType, 'application/x-ndjson+zstd');
    });
  });

  describe('verify', () => {
    describe('when any one file of the bundle has one byte changed', () => {
      it('exits 6 and names the file', async () => {
        const manifest = await readManifest(bundleDir);
        const targets = [...manifest.files.map((f) => f.path), 'export.json', 'signatures/export.sig'];
        for (const target of targets) {
          const copy = path.join(scratch, `tamper-${targets.indexOf(target)}`);
          await cp(bundleDir, copy, { recursive: true });
          await flipOneByte(path.join(copy, target));

          const result = await runCli(['export', 'verify', copy, '--json']);

          assert.equal(result.code, 6, `${target}: ${result.stdout} ${result.stderr}`);
          assert.equal(JSON.parse(result.stdout).ok, false, target);
        }
      });
    });
  });

  describe('verify of a .tar.zst', () => {
    describe('when the archive itself is corrupted midway', () => {
      it('exits 6 with an integrity failure, not an internal error', async () => {
        const archive = path.join(scratch, 'corrupt.tar.zst');
        const bytes = await readFile(path.join(scratch, 'first.tar.zst'));
        bytes.fill(0x41, Math.floor(bytes.length / 2), Math.floor(bytes.length / 2) + 4);
        await writeFile(archive, bytes);

        const result = await runCli(['export', 'verify', archive]);

        assert.equal(result.code, 6, result.stderr);
        assert.match(result.stderr, /integrity_failed/);
      });
    });
  });

  describe('download', () => {
    describe('when a .partial as long as the bundle is left from an earlier attempt', () => {
      it('starts over and returns the bundle with the right hash', async () => {
        const out = path.join(scratch, 'again.tar.zst');
        await cp(path.join(scratch, 'first.tar.zst'), `${out}.partial`);

        const result = await downloadBundle(stack.client(), first.id, out);

        assert.equal(result.sha256, first.artifact?.sha256);
        assert.equal(result.resumedFrom, 0);
      });
    });

    describe('when a .partial holds the first half', () => {
      it('resumes with a range request and returns the bundle with the right hash', async () => {
        const out = path.join(scratch, 'half.tar.zst');
        const whole = await readFile(path.join(scratch, 'first.tar.zst'));
        await writeFile(`${out}.partial`, whole.subarray(0, Math.floor(whole.length / 2)));

        const result = await downloadBundle(stack.client(), first.id, out);

        assert.equal(result.sha256, first.artifact?.sha256);
        assert.equal(result.resumedFrom, Math.floor(whole.length / 2));
      });
    });
  });

  describe('run twice over unchanged evidence', () => {
    it('returns identical data files and manifest file hashes', async () => {
      const second = await exportAndWait(stack, 'default');
      const secondDir = path.join(scratch, 'second');
      await downloadAndUnpack(stack, second.id, secondDir);

      const [a, b] = [await readManifest(bundleDir), await readManifest(secondDir)];
      const dataFiles = (m: ExportManifest) => m.files.filter((f) => f.path !== 'provenance.json');

      assert.notEqual(a.runId, b.runId);
      assert.deepEqual(dataFiles(a), dataFiles(b));
      for (const file of dataFiles(a)) {
        assert.deepEqual(await readFile(path.join(bundleDir, file.path)), await readFile(path.join(secondDir, file.path)));
      }
    });
  });

  describe('create with an Idempotency-Key', () => {
    describe('when the same request is sent twice', () => {
      it('returns the same run', async () => {
        const api = stack.client();
        const headers = { 'idempotency-key': 'same-key-twice' };
        const one = await api.json<RunView>('POST', '/export/runs', { profileId: 'prof_json_raw' }, headers);
        const two = await api.json<RunView>('POST', '/export/runs', { profileId: 'prof_json_raw' }, headers);

        assert.equal(two.id, one.id);
        await waitForRun(api, one.id, { quiet: true });
        const { runs } = await api.json<{ runs: RunView[] }>('GET', '/export/runs?limit=500');
        assert.equal(runs.filter((r) => r.id === one.id).length, 1);
      });
    });

    describe('when the key is reused for a different request', () => {
      it('throws conflict', async () => {
        const api = stack.client();
        const headers = { 'idempotency-key': 'reused-key' };
        await api.json('POST', '/export/runs', { profileId: 'prof_json_raw' }, headers);

        await assert.rejects(
          api.json('POST', '/export/runs', { profileId: 'prof_json_raw', filters: { ecosystems: ['npm'] } }, headers),
          (err: StellaError) => err.code === 'conflict',
        );
      });
    });
  });

  describe('create with a bad filter', () => {
    it('answers 400 bad_request through the API', async () => {
      const response = await fetch(`${stack.api.url}/export/runs`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${await stack.token()}` },
        body: JSON.stringify({ profileId: 'prof_json_raw', filters: { since: 'yesterday' } }),
      });

      assert.equal(response.status, 400);
      assert.equal(((await response.json()) as { error_class: string }).error_class, 'bad_request');
    });

    it('exits 2 through the CLI', async () => {
      const result = await runCli(
        ['export', 'run', 'create', '--profile', 'prof_json_raw', '--filters', '{"colour":"red"}'],
        { ...stellaEnv(stack.config), STELLA_API_URL: stack.api.url },
      );

      assert.equal(result.code, 2, result.stderr);
    });
  });

  describe('an unknown run', () => {
    it('answers 404 not_found through the API', async () => {
      const response = await fetch(`${stack.api.url}/export/runs/run_default_nosuchrun`, {
        headers: { authorization: `Bearer ${await stack.token()}` },
      });

      assert.equal(response.status, 404);
      assert.equal(((await response.json()) as { error_class: string }).error_class, 'not_found');
    });

    it('exits 4 through the CLI', async () => {
      const result = await runCli(['export', 'run', 'status', 'run_default_nosuchrun'], {
        ...stellaEnv(stack.config),
        STELLA_API_URL: stack.api.url,
      });

      assert.equal(result.code, 4, result.stderr);
    });
  });

  describe('a run of another tenant', () => {
    it('is invisible: get, list, manifest and download answer as if it did not exist', async () => {
      const other = stack.client('acme');

      for (const suffix of ['', '/manifest', '/download', '/provenance', '/signatures']) {
        await assert.rejects(other.json('GET', `/export/runs/${first.id}${suffix}`), (err: StellaError) => err.code === 'not_found');
      }
      const { runs } = await other.json<{ runs: RunView[] }>('GET', '/export/runs');
      assert.deepEqual(runs, []);
    });
  });
});

async function exportAndWait(stack: ExportStack, tenant: string): Promise<RunView> {
  const api = stack.client(tenant);
  const created = await api.json<RunView>('POST', '/export/runs', { profileId: 'prof_json_raw' });

  return waitForRun(api, created.id, { quiet: true, intervalMs: 200 });
}

async function downloadAndUnpack(stack: ExportStack, runId: string, dir: string) {
  const archive = `${dir}.tar.zst`;
  await downloadBundle(stack.client(), runId, archive);
  await extractTarZst(archive, dir);
}

async function readManifest(dir: string): Promise<ExportManifest> {
  return JSON.parse(await readFile(path.join(dir, 'export.json'), 'utf8')) as ExportManifest;
}

async function flipOneByte(file: string) {
  const bytes = await readFile(file);
  const at = Math.floor(bytes.length / 2);
  bytes[at] = bytes[at] ^ 0x01;
  await writeFile(file, bytes);
}
