import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cp, mkdtemp, readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import type { DistributionView } from '../../api/routes/distributions.js';
import type { RunView } from '../../api/run-view.js';
import { bundlePaths } from '../../activities/bundle-paths.js';
import { waitForRun } from '../../cli/wait-for-run.js';
import { MARKER_NAME } from '../../distribution/bundle-payloads.js';
import { distributionWorkflowId } from '../../distribution/distribution-request.js';
import { BUNDLE_MEDIA_TYPES, TRIVY_ARTIFACTS } from '../../distribution/oci/artifact.js';
import { ingestPaths } from '../../ingest/ingest-paths.js';
import { runCli } from '../support/cli.js';
import { EVIDENCE, FIXTURES, startExportStack, stellaEnv, type ExportStack } from '../support/export-stack.js';
import { startMinio, type TestMinio } from '../support/minio.js';
import { crane, ensureCrane, registryAvailable, startRegistry, type TestRegistry } from '../support/registry.js';
import { ensureTrivy, installDbArchive, scanWithTrivy, type TrivyFinding } from '../support/trivy.js';

const run = promisify(execFile);

describe('distribution', { timeout: 600_000, skip: registryAvailable() }, () => {
  let stack: ExportStack;
  let open: TestRegistry;
  let locked: TestRegistry;
  let minio: TestMinio;
  let exported: RunView;
  let scratch: string;
  const savedEnv = { ...process.env };

  before(async () => {
    scratch = await mkdtemp(path.join(os.tmpdir(), 'stella-dist-'));
    [open, locked, minio] = await Promise.all([startRegistry(), startRegistry({ auth: true }), startMinio()]);
    await minio.createBucket('exports');
    // The worker reads its S3 endpoint from its environment, as in production.
    process.env.STELLA_S3_ENDPOINT = minio.endpoint;
    stack = await startExportStack();
    await ingestPaths(stack.db, 'default', [EVIDENCE]);
    exported = await exportAndWait(stack, 'prof_json_raw');
  });

  after(async () => {
    process.env = savedEnv;
    await stack?.stop();
    await Promise.all([open?.stop(), locked?.stop(), minio?.stop()]);
  });

  describe('POST /export/runs/:id/distribute', () => {
    describe('when the target is a registry without authentication', () => {
      let view: DistributionView;
      const reference = () => `${open.host}/stella/bundles:json-raw`;

      before(async () => {
        view = await distributeAndWait(stack, exported.id, { type: 'oci', target: reference() });
      });

      it('returns a succeeded distribution whose manifest digest crane reads from the registry', async () => {
        const digest = (await crane(['digest', reference()])).trim();

        assert.equal(view.state, 'succeeded', `${view.errorClass}: ${view.errorMessage}`);
        assert.equal(view.metadata.manifestDigest, digest);
      });

      it('returns blobs that crane pulls back byte for byte: the archive and export.json', async () => {
        const manifest = JSON.parse(await crane(['manifest', reference()])) as OciManifest;
        const layer = await craneBlob(`${open.host}/stella/bundles@${manifest.layers[0].digest}`);
        const config = await craneBlob(`${open.host}/stella/bundles@${manifest.config.digest}`);
        const paths = bundlePaths(stack.config, { tenant: 'default', runId: exported.id });

        assert.equal(manifest.layers.length, 1);
        assert.equal(manifest.layers[0].mediaType, BUNDLE_MEDIA_TYPES.layer);
        assert.equal(manifest.artifactType, BUNDLE_MEDIA_TYPES.artifactType);
        assert.equal(sha256(layer), exported.artifact?.sha256);
        assert.deepEqual(layer, await readFile(paths.archive));
        assert.deepEqual(config, await readFile(path.join(paths.final, 'export.json')));
      });

      it('returns 200 with the same row when asked again, and adds no blob', async () => {
        const before = await open.blobDigests();
        const again = await stack
          .client()
          .request('POST', `/export/runs/${exported.id}/distribute`, jsonBody({ type: 'oci', target: reference() }));
        const body = (await again.json()) as DistributionView;

        assert.equal(again.status, 200);
        assert.equal(body.id, view.id);
        assert.deepEqual(await open.blobDigests(), before);
      });
    });

    describe('when the same bundle goes to a second repository of the registry', () => {
      it('returns blobs mounted from the first repository instead of uploaded', async () => {
        const view = await distributeAndWait(stack, exported.id, {
          type: 'oci',
          target: `${open.host}/mirror/bundles:json-raw`,
        });
        const blobs = view.metadata.blobs as { outcome: string }[];

        assert.equal(view.state, 'succeeded', `${view.errorClass}: ${view.errorMessage}`);
        assert.deepEqual(blobs.map((blob) => blob.outcome), ['mounted', 'mounted']);
      });
    });

    describe('when the target is an S3 bucket', () => {
      let view: DistributionView;

      before(async () => {
        const result = await runCli(
          ['--api-url', stack.api.url, 'export', 'distribute', exported.id, '--s3', 's3://exports/stella/json-raw', '--json'],
          {
            ...stellaEnv(stack.config),
            STELLA_S3_ACCESS_KEY_ID: minio.credentials.accessKeyId,
            STELLA_S3_SECRET_ACCESS_KEY: minio.credentials.secretAccessKey,
          },
        );
        assert.equal(result.code, 0, result.stderr);
        view = JSON.parse(result.stdout) as DistributionView;
      });

      it('writes the archive, export.json, provenance.json, the signatures and the marker under the prefix', async () => {
        const keys = await minio.listKeys('exports', 'stella/json-raw/');

        assert.equal(view.state, 'succeeded');
        assert.deepEqual(keys, [
          'stella/json-raw/_SUCCESS',
          'stella/json-raw/export.json',
          'stella/json-raw/provenance.json',
          `stella/json-raw/${exported.id}.tar.zst`,
          'stella/json-raw/signatures/export.sig',
          'stella/json-raw/signatures/jwks.json',
        ].sort());
      });

      it('writes a marker whose checksums match the objects as stored', async () => {
        const marker = JSON.parse((await getObject(minio, `stella/json-raw/${MARKER_NAME}`)).toString('utf8')) as {
          runId: string;
          objects: { name: string; sha256: string }[];
        };

        assert.equal(marker.runId, exported.id);
        assert.equal(marker.objects.length, 5);
        for (const object of marker.objects) {
          assert.equal(sha256(await getObject(minio, `stella/json-raw/${object.name}`)), object.sha256, object.name);
        }
      });
    });
  });

  describe('stella export distribute --oci', () => {
    describe('when the registry refuses the password', () => {
      const password = 'wrong-password-for-the-test';
      let result: Awaited<ReturnType<typeof runCli>>;

      before(async () => {
        result = await distributeWithCli(stack, exported.id, `${locked.host}/stella/locked:1`, {
          STELLA_OCI_USERNAME: locked.credentials!.username,
          STELLA_OCI_PASSWORD: password,
        });
      });

      it('exits 5 and names the error class denied', () => {
        assert.equal(result.code, 5, result.stdout + result.stderr);
        assert.match(result.stderr, /denied/);
      });

      it('records the failure on the row and keeps the password out of it and of the workflow history', async () => {
        const rows = await listDistributions(stack, exported.id);
        const row = rows.find((r) => r.target === `${locked.host}/stella/locked:1`)!;
        const workflowId = distributionWorkflowId(exported.id, 'oci', row.target);
        const history = await stack.temporalClient.client.workflow.getHandle(workflowId).fetchHistory();

        assert.equal(row.state, 'failed');
        assert.equal(row.errorClass, 'denied');
        assert.ok(!JSON.stringify(row).includes(password));
        assert.ok(!JSON.stringify(history).includes(password));
      });

      it('leaves the export run as it was', async () => {
        const again = await stack.client().json<RunView>('GET', `/export/runs/${exported.id}`);

        assert.equal(again.state, 'succeeded');
        assert.equal(again.artifact?.sha256, exported.artifact?.sha256);
      });
    });

    describe('when the same distribution is retried with the right password', () => {
      it('exits 0 and the row ends succeeded', async () => {
        const result = await distributeWithCli(stack, exported.id, `${locked.host}/stella/locked:1`, {
          STELLA_OCI_USERNAME: locked.credentials!.username,
          STELLA_OCI_PASSWORD: locked.credentials!.password,
        });
        const view = JSON.parse(result.stdout) as DistributionView;

        assert.equal(result.code, 0, result.stderr);
        assert.equal(view.state, 'succeeded');
        assert.equal(view.errorClass, null);
      });
    });
  });

  describe('trivy:db pushed to a registry', () => {
    it('lets trivy fs --db-repository pull our DB and report what the bundled DB reports', async (t) => {
      const trivy = await ensureTrivy();
      if (!('path' in trivy)) {
        t.skip(trivy.reason);

        return;
      }
      const db = await exportAndWait(stack, 'prof_trivy_db');
      const view = await distributeAndWait(stack, db.id, { type: 'oci', target: `${open.host}/stella/trivy-db` });
      const project = path.join(scratch, 'project');
      await cp(path.join(FIXTURES, 'lockfiles'), project, { recursive: true });

      const pulled = await scanFromRegistry(trivy.path, path.join(scratch, 'pulled-cache'), `${open.host}/stella/trivy-db`, project);
      const bundled = await scanBundled(trivy.path, stack, db.id, path.join(scratch, 'bundled-cache'), project);

      assert.equal(view.state, 'succeeded', `${view.errorClass}: ${view.errorMessage}`);
      assert.equal(view.metadata.tag, TRIVY_ARTIFACTS['trivy:db'].defaultTag);
      assert.ok(bundled.length > 0);
      assert.deepEqual(pulled, bundled);
    });
  });
});

interface OciManifest {
  artifactType?: string;
  config: { digest: string; mediaType: string };
  layers: { digest: string; mediaType: string }[];
}

async function exportAndWait(stack: ExportStack, profileId: string): Promise<RunView> {
  const api = stack.client();
  const created = await api.json<RunView>('POST', '/export/runs', { profileId });
  const view = await waitForRun(api, created.id, { quiet: true, intervalMs: 250 });
  assert.equal(view.state, 'succeeded', `${view.errorClass}: ${view.errorMessage}`);

  return view;
}

async function distributeAndWait(stack: ExportStack, runId: string, body: object): Promise<DistributionView> {
  const started = await stack.client().json<DistributionView>('POST', `/export/runs/${runId}/distribute`, body);
  for (let i = 0; i < 600; i++) {
    const row = (await listDistributions(stack, runId)).find((r) => r.id === started.id)!;
    if (row.state === 'succeeded' || row.state === 'failed') {
      return row;
    }
    await sleep(250);
  }
  throw new Error(`distribution ${started.id} did not finish`);
}

async function listDistributions(stack: ExportStack, runId: string): Promise<DistributionView[]> {
  const { distributions } = await stack
    .client()
    .json<{ distributions: DistributionView[] }>('GET', `/export/runs/${runId}/distributions`);

  return distributions;
}

function distributeWithCli(stack: ExportStack, runId: string, reference: string, env: NodeJS.ProcessEnv) {
  return runCli(['--api-url', stack.api.url, 'export', 'distribute', runId, '--oci', reference, '--json'], {
    ...stellaEnv(stack.config),
    ...env,
  });
}

function jsonBody(body: object) {
  return { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } };
}

async function craneBlob(reference: string): Promise<Buffer> {
  const { stdout } = await run(await ensureCrane(), ['blob', reference], { encoding: 'buffer', maxBuffer: 1 << 28 });

  return stdout;
}

async function getObject(minio: TestMinio, key: string): Promise<Buffer> {
  const answer = await minio.client.send(new GetObjectCommand({ Bucket: 'exports', Key: key }));

  return Buffer.from(await answer.Body!.transformToByteArray());
}

function sha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

// Trivy as a user runs it against a registry: only the repository flag (a loopback
// registry is reached over plain HTTP without further flags).
async function scanFromRegistry(trivy: string, cacheDir: string, repository: string, project: string) {
  const args = [
    'fs', '--cache-dir', cacheDir, '--db-repository', repository, '--skip-java-db-update', '--offline-scan',
    '--skip-version-check', '--disable-telemetry', '--scanners', 'vuln', '--format', 'json', '--quiet', project,
  ];
  const { stdout } = await run(trivy, args, {
    maxBuffer: 1 << 28,
    timeout: 300_000,
    env: { PATH: process.env.PATH, HOME: cacheDir, XDG_CACHE_HOME: cacheDir, TRIVY_NO_PROGRESS: 'true' },
  });

  return summarize(findingsOf(JSON.parse(stdout)));
}

async function scanBundled(trivy: string, stack: ExportStack, runId: string, cacheDir: string, project: string) {
  const paths = bundlePaths(stack.config, { tenant: 'default', runId });
  await installDbArchive(path.join(paths.final, 'trivy', 'db.bundle'), cacheDir);

  return summarize(await scanWithTrivy(trivy, cacheDir, project));
}

function findingsOf(report: { Results?: { Type: string; Vulnerabilities?: { PkgName: string; VulnerabilityID: string }[] }[] }) {
  return (report.Results ?? []).flatMap((result) =>
    (result.Vulnerabilities ?? []).map((v) => ({ type: result.Type, pkgName: v.PkgName, vulnerabilityId: v.VulnerabilityID })),
  );
}

function summarize(findings: Pick<TrivyFinding, 'type' | 'pkgName' | 'vulnerabilityId'>[]): string[] {
  return findings.map((f) => `${f.type} ${f.pkgName} ${f.vulnerabilityId}`).sort();
}
