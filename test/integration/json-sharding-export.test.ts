import assert from 'node:assert/strict';
import { copyFile, cp, mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { RunView } from '../../api/run-view.js';
import { readDataLines } from '../../bundle/bundle-parts.js';
import { removeQuietly } from '../../bundle/files.js';
import type { ExportManifest, ManifestFile } from '../../bundle/manifest.js';
import { partPath } from '../../bundle/sharded-jsonl.js';
import { ingestPaths } from '../../ingest/ingest-paths.js';
import { POLICY_BUNDLE_FILES as FILES } from '../../policy/bundle-layout.js';
import { readJsonlZst } from '../../policy/read-jsonl-zst.js';
import { createProfile } from '../../store/export-store.js';
import { runCli } from '../support/cli.js';
import { EVIDENCE, FIXTURES, startExportStack, type ExportStack } from '../support/export-stack.js';
import { exportAndUnpack } from '../support/runs.js';

const ADVISORIES = 'advisories/normalized.jsonl.zst';
const POLICIES = path.join(FIXTURES, 'policies');

// Small part limits force several parts out of the shipped fixtures. Profiles are created
// in the store: the API's profile schema does not take part limits below 1 KiB.
const RAW_PROFILE = {
  id: 'raw_small_parts',
  kind: 'json:raw',
  config: { partBytes: 64 * 1024 },
} as const;
const POLICY_PROFILE = {
  id: 'policy_small_parts',
  kind: 'json:policy',
  config: { partRecords: 40 },
} as const;

describe('json export with small part limits', { timeout: 300_000 }, () => {
  let stack: ExportStack;
  let scratch: string;
  let raw: { run: RunView; dir: string };
  let policy: { run: RunView; dir: string };

  before(async () => {
    stack = await startExportStack();
    scratch = await mkdtemp(path.join(os.tmpdir(), 'stella-json-parts-'));
    await ingestPaths(stack.db, 'default', [
      EVIDENCE,
      path.join(POLICIES, 'expected-packages.cdx.json'),
    ]);
    const document = await readFile(path.join(POLICIES, 'pol-v1.0.0.yaml'), 'utf8');
    await stack.client().json('POST', '/export/policies', { document });
    for (const profile of [RAW_PROFILE, POLICY_PROFILE]) {
      await createProfile(stack.db, 'default', { ...profile, name: profile.id });
    }
    raw = await exportAndUnpack(stack, { profileId: RAW_PROFILE.id }, path.join(scratch, 'raw'));
    policy = await exportAndUnpack(
      stack,
      { profileId: POLICY_PROFILE.id },
      path.join(scratch, 'policy'),
    );
  });

  after(async () => {
    await stack?.stop();
    await removeQuietly(scratch);
  });

  describe('json:raw', () => {
    it('returns advisories in several parts listed in export.json with shard keys', async () => {
      assert.equal(raw.run.state, 'succeeded', `${raw.run.errorClass}: ${raw.run.errorMessage}`);
      const parts = shardsOf(await readManifest(raw.dir), ADVISORIES);

      assert.ok(parts.length >= 3, `only ${parts.length} parts`);
      assert.deepEqual(parts.map((f) => f.path), parts.map((_, i) => partPath(ADVISORIES, i + 1)));
      assert.equal(parts.reduce((sum, f) => sum + (f.records ?? 0), 0), 249);
      for (const part of parts) {
        assert.equal(part.shard?.contentType, 'advisory');
        assert.equal(part.shard?.count, parts.length);
        assert.ok(part.shard!.firstKey! <= part.shard!.lastKey!, part.path);
      }
    });

    it('returns parts of at most 64 KiB of uncompressed lines each', async () => {
      const parts = shardsOf(await readManifest(raw.dir), ADVISORIES);
      for (const part of parts) {
        let bytes = 0;
        for await (const line of readJsonlZst(path.join(raw.dir, part.path))) {
          bytes += Buffer.byteLength(line) + 1;
        }

        assert.ok(bytes <= 64 * 1024, `${part.path}: ${bytes} bytes`);
        // A part stops only when the next line would not fit: all but the last are full.
        assert.ok(part === parts.at(-1) || bytes > 48 * 1024, `${part.path}: only ${bytes} bytes`);
      }
    });

    it('returns parts whose lines, read in order, are every advisory once', async () => {
      const ids: string[] = [];
      for await (const line of readDataLines(raw.dir, ADVISORIES)) {
        ids.push((JSON.parse(line) as { id: string }).id);
      }

      assert.equal(ids.length, 249);
      assert.deepEqual(ids, [...ids].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)));
    });

    it('returns each part as a provenance subject', async () => {
      const text = await readFile(path.join(raw.dir, 'provenance.json'), 'utf8');
      const provenance = JSON.parse(text) as {
        subject: { name: string; digest: { sha256: string } }[];
      };
      const subjects = new Map(provenance.subject.map((s) => [s.name, s.digest.sha256]));

      for (const part of shardsOf(await readManifest(raw.dir), ADVISORIES)) {
        assert.equal(subjects.get(part.path), part.sha256, part.path);
      }
    });

    it('returns a bundle that `stella export verify` accepts with exit 0', async () => {
      const result = await runCli(['export', 'verify', raw.dir, '--json']);

      assert.equal(result.code, 0, result.stderr);
    });

    describe('verify when a part is missing', () => {
      it('exits 6 and names the part', async () => {
        const copy = path.join(scratch, 'raw-missing');
        await cp(raw.dir, copy, { recursive: true });
        await rm(path.join(copy, partPath(ADVISORIES, 2)));

        const result = await runCli(['export', 'verify', copy, '--json']);

        assert.equal(result.code, 6, result.stdout);
        assert.match(result.stdout, new RegExp(partPath(ADVISORIES, 2)));
      });
    });

    describe('verify when a part is added', () => {
      it('exits 6 and names the part', async () => {
        const copy = path.join(scratch, 'raw-added');
        await cp(raw.dir, copy, { recursive: true });
        const count = shardsOf(await readManifest(raw.dir), ADVISORIES).length;
        const extra = partPath(ADVISORIES, count + 1);
        await copyFile(path.join(copy, partPath(ADVISORIES, 1)), path.join(copy, extra));

        const result = await runCli(['export', 'verify', copy, '--json']);

        assert.equal(result.code, 6, result.stdout);
        assert.match(result.stdout, new RegExp(extra));
      });
    });

    describe('run again over unchanged evidence', () => {
      it('returns the same parts with the same hashes', async () => {
        const again = await exportAndUnpack(
          stack,
          { profileId: RAW_PROFILE.id },
          path.join(scratch, 'raw-again'),
        );
        const data = (m: ExportManifest) => m.files.filter((f) => f.path !== 'provenance.json');

        assert.deepEqual(data(await readManifest(again.dir)), data(await readManifest(raw.dir)));
      });
    });
  });

  describe('json:policy', () => {
    it('returns finding inputs and decisions in parts of at most 40 records', async () => {
      const { state, errorClass, errorMessage } = policy.run;
      assert.equal(state, 'succeeded', `${errorClass}: ${errorMessage}`);

      const manifest = await readManifest(policy.dir);
      const inputs = shardsOf(manifest, FILES.findingInputs);
      const decisions = shardsOf(manifest, FILES.decisions);

      assert.ok(inputs.length >= 2, `only ${inputs.length} parts`);
      assert.deepEqual(decisions.map((f) => f.records), inputs.map((f) => f.records));
      assert.ok(inputs.every((f) => (f.records ?? 0) <= 40));
      assert.equal(inputs.reduce((sum, f) => sum + (f.records ?? 0), 0), manifest.counts.findings);
      assert.equal(decisions[0].shard?.contentType, 'policy-decision');
    });

    it('returns a bundle that `stella export replay` replays identically', async () => {
      const result = await runCli(['export', 'replay', policy.dir, '--json']);
      const replay = JSON.parse(result.stdout) as { identical: boolean; findings: number };

      assert.equal(result.code, 0, result.stderr);
      assert.equal(replay.identical, true);
      assert.equal(replay.findings, (await readManifest(policy.dir)).counts.findings);
    });

    it('returns a bundle that `stella export verify` accepts with exit 0', async () => {
      const result = await runCli(['export', 'verify', policy.dir, '--json']);

      assert.equal(result.code, 0, result.stderr);
    });
  });
});


async function readManifest(dir: string): Promise<ExportManifest> {
  return JSON.parse(await readFile(path.join(dir, 'export.json'), 'utf8')) as ExportManifest;
}

function shardsOf(manifest: ExportManifest, relative: string): ManifestFile[] {
  return manifest.files
    .filter((file) => file.shard?.of === relative)
    .sort((a, b) => a.shard!.index - b.shard!.index);
}
