import assert from 'node:assert/strict';
import { cp, mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { RunView } from '../../api/run-view.js';
import { extractTarZst } from '../../bundle/extract.js';
import type { ExportManifest } from '../../bundle/manifest.js';
import { downloadBundle } from '../../cli/download.js';
import { waitForRun } from '../../cli/wait-for-run.js';
import { ingestPaths } from '../../ingest/ingest-paths.js';
import { runCli } from '../support/cli.js';
import { EVIDENCE, FIXTURES, startExportStack, type ExportStack } from '../support/export-stack.js';
import { ensureTrivy, installDbArchive, scanWithTrivy } from '../support/trivy.js';

// The npm findings advisories/EXPECTED.md lists for the shipped package-lock.json.
const EXPECTED_NPM = [
  'CVE-2020-28168', 'CVE-2020-28500', 'CVE-2020-7598', 'CVE-2020-8203', 'CVE-2021-23337',
  'CVE-2021-3749', 'CVE-2021-44906', 'CVE-2022-0155', 'CVE-2022-0536', 'CVE-2023-26159',
  'CVE-2023-45857', 'CVE-2024-28849',
];

describe('trivy:db export', { timeout: 400_000 }, () => {
  let stack: ExportStack;
  let scratch: string;

  before(async () => {
    stack = await startExportStack();
    scratch = await mkdtemp(path.join(os.tmpdir(), 'stella-trivy-profile-'));
    await ingestPaths(stack.db, 'default', [EVIDENCE]);
  });

  after(async () => {
    await stack?.stop();
  });

  describe('when the built-in trivy:db profile runs over the shipped evidence', () => {
    it('returns a signed bundle whose DB the real trivy uses to find exactly the expected npm vulnerabilities', async (t) => {
      const trivy = await ensureTrivy();
      if (!('path' in trivy)) {
        t.skip(trivy.reason);

        return;
      }
      const dir = await exportBundle(stack, scratch, 'first');
      const verify = await runCli(['export', 'verify', dir]);
      assert.equal(verify.code, 0, verify.stdout + verify.stderr);

      const cache = path.join(scratch, 'cache');
      await installDbArchive(path.join(dir, 'trivy', 'db.bundle'), cache);
      const project = path.join(scratch, 'project');
      await cp(path.join(FIXTURES, 'lockfiles'), project, { recursive: true });
      const findings = await scanWithTrivy(trivy.path, cache, project);
      const npm = findings.filter((f) => f.type === 'npm').map((f) => f.vulnerabilityId).sort();

      assert.deepEqual(npm, [...EXPECTED_NPM].sort());
    });
  });

  describe('when it runs twice over unchanged evidence', () => {
    it('returns byte-identical DB files', async () => {
      const [a, b] = [await exportBundle(stack, scratch, 'a'), await exportBundle(stack, scratch, 'b')];
      const files = async (dir: string) =>
        (JSON.parse(await import('node:fs/promises').then((fs) => fs.readFile(path.join(dir, 'export.json'), 'utf8'))) as ExportManifest)
          .files.filter((f) => f.path.startsWith('trivy/'));

      assert.deepEqual(await files(a), await files(b));
      assert.ok((await files(a)).some((f) => f.path === 'trivy/db.bundle'));
    });
  });
});

async function exportBundle(stack: ExportStack, scratch: string, name: string): Promise<string> {
  const api = stack.client();
  const created = await api.json<RunView>('POST', '/export/runs', { profileId: 'prof_trivy_db' });
  const run = await waitForRun(api, created.id, { quiet: true, intervalMs: 250 });
  assert.equal(run.state, 'succeeded', `${run.errorClass}: ${run.errorMessage}`);
  const archive = path.join(scratch, `${name}.tar.zst`);
  await downloadBundle(api, run.id, archive);
  const dir = path.join(scratch, name);
  await extractTarZst(archive, dir);

  return dir;
}
