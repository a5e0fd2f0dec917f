import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cp, mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import type { DistributionView } from '../../api/routes/distributions.js';
import type { RunView } from '../../api/run-view.js';
import { bundlePaths } from '../../activities/bundle-paths.js';
import { MARKER_NAME } from '../../distribution/bundle-payloads.js';
import { distributionWorkflowId } from '../../distribution/distribution-request.js';
import {
  BUNDLE_MEDIA_TYPES,
  packageTrivyArtifact,
  TRIVY_ARTIFACTS,
} from '../../distribution/oci/artifact.js';
import { pushArtifact } from '../../distribution/oci/push-artifact.js';
import { parseOciReference } from '../../distribution/oci/reference.js';
import { ingestPaths } from '../../ingest/ingest-paths.js';
import { runCli } from '../support/cli.js';
import {
  EVIDENCE,
  FIXTURES,
  startExportStack,
  stellaEnv,
  type ExportStack,
} from '../support/export-stack.js';
import { distributeAndWait, exportAndWait } from '../support/runs.js';
import { startMinio, type TestMinio } from '../support/minio.js';
import {
  crane,
  craneBlob,
  registryAvailable,
  startRegistry,
  type TestRegistry,
} from '../support/registry.js';
import { buildTrivyJavaDb } from '../../adapters/trivy/java-db.js';
import { digestFile, removeQuietly } from '../../bundle/files.js';
import {
  ensureTrivy,
  installDbArchive,
  scanWithTrivy,
  storedZip,
  type TrivyFinding,
} from '../support/trivy.js';

const run = promisify(execFile);

describe('distribution', { timeout: 600_000, skip: registryAvailable() }, () => {
  let stack: ExportStack;
  let open: TestRegistry;
  let locked: TestRegistry;
  let minio: TestMinio;
  let exported: RunView;
  let scratch: string;
  const savedEndpoint = process.env.STELLA_S3_ENDPOINT;

  before(async () => {
    scratch = await mkdtemp(path.join(os.tmpdir(), 'stella-dist-'));
    [open, locked, minio] = await Promise.all([
      startRegistry(),
      startRegistry({ auth: true }),
      startMinio(),
    ]);
    await minio.createBucket('exports');
    // The worker reads its S3 endpoint from its environment, as in production.
    process.env.STELLA_S3_ENDPOINT = minio.endpoint;
    stack = await startExportStack();
    await ingestPaths(stack.db, 'default', [EVIDENCE]);
    exported = await exportAndWait(stack, { profileId: 'prof_json_raw' });
  });

  after(async () => {
    restoreEnv('STELLA_S3_ENDPOINT', savedEndpoint);
    await stack?.stop();
    await Promise.all([open?.stop(), locked?.stop(), minio?.stop()]);
    await removeQuietly(scratch);
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
          .request(
            'POST',
            `/export/runs/${exported.id}/distribute`,
            jsonBody({ type: 'oci', target: reference() }),
          );
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
        assert.deepEqual(
          blobs.map((blob) => blob.outcome),
          ['mounted', 'mounted'],
        );
      });
    });

    describe('when the auth given does not fit the type', () => {
      it('throws bad_request and starts nothing', async () => {
        const body = {
          type: 'oci',
          target: `${open.host}/stella/misfit:1`,
          auth: { accessKeyId: 'a', secretAccessKey: 'b' },
        };
        const post = stack.client().json('POST', `/export/runs/${exported.id}/distribute`, body);

        await assert.rejects(
          post,
          (err: unknown) => (err as { code?: string }).code === 'bad_request',
        );
        assert.ok(
          !(await listDistributions(stack, exported.id)).some((d) => d.target.includes('misfit')),
        );
      });
    });

    describe('when the target is an S3 bucket', () => {
      let view: DistributionView;

      before(async () => {
        const result = await runCli(
          [
            '--api-url',
            stack.api.url,
            'export',
            'distribute',
            exported.id,
            '--s3',
            's3://exports/stella/json-raw',
            '--json',
          ],
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
        assert.deepEqual(
          keys,
          [
            'stella/json-raw/_SUCCESS',
            'stella/json-raw/export.json',
            'stella/json-raw/provenance.json',
            `stella/json-raw/${exported.id}.tar.zst`,
            'stella/json-raw/signatures/export.sig',
            'stella/json-raw/signatures/jwks.json',
          ].sort(),
        );
      });

      it('writes a marker whose checksums match the objects as stored', async () => {
        const marker = JSON.parse(
          (await getObject(minio, `stella/json-raw/${MARKER_NAME}`)).toString('utf8'),
        ) as {
          runId: string;
          objects: { name: string; sha256: string }[];
        };

        assert.equal(marker.runId, exported.id);
        assert.equal(marker.objects.length, 5);
        for (const object of marker.objects) {
          assert.equal(
            sha256(await getObject(minio, `stella/json-raw/${object.name}`)),
            object.sha256,
            object.name,
          );
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
        const history = await stack.temporalClient.client.workflow
          .getHandle(workflowId)
          .fetchHistory();

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
        const result = await distributeWithCli(
          stack,
          exported.id,
          `${locked.host}/stella/locked:1`,
          {
            STELLA_OCI_USERNAME: locked.credentials!.username,
            STELLA_OCI_PASSWORD: locked.credentials!.password,
          },
        );
        const view = JSON.parse(result.stdout) as DistributionView;

        assert.equal(result.code, 0, result.stderr);
        assert.equal(view.state, 'succeeded');
        assert.equal(view.errorClass, null);
      });
    });
  });

  describe('Trivy DBs pushed to a registry', () => {
    let trivyPath: string | undefined;
    let skipReason: string | undefined;
    let db: RunView;

    before(async () => {
      const trivy = await ensureTrivy();
      trivyPath = 'path' in trivy ? trivy.path : undefined;
      skipReason = 'reason' in trivy ? trivy.reason : undefined;
      db = await exportAndWait(stack, { profileId: 'prof_trivy_db' });
    });

    it('lets trivy fs --db-repository pull our DB and report what the bundled DB reports', async (t) => {
      if (!trivyPath) {
        return t.skip(skipReason);
      }
      const view = await distributeAndWait(stack, db.id, {
        type: 'oci',
        target: `${open.host}/stella/trivy-db`,
      });
      const project = path.join(scratch, 'project');
      await cp(path.join(FIXTURES, 'lockfiles'), project, { recursive: true });

      const pulled = await scanFromRegistry(
        trivyPath,
        path.join(scratch, 'pulled-cache'),
        project,
        ['--db-repository', `${open.host}/stella/trivy-db`],
      );
      const bundledCache = path.join(scratch, 'bundled-cache');
      await installDbArchive(
        path.join(
          bundlePaths(stack.config, { tenant: 'default', runId: db.id }).final,
          'trivy',
          'db.bundle',
        ),
        bundledCache,
      );
      const bundled = summarize(await scanWithTrivy(trivyPath, bundledCache, project));

      assert.equal(view.state, 'succeeded', `${view.errorClass}: ${view.errorMessage}`);
      assert.equal(view.metadata.tag, TRIVY_ARTIFACTS['trivy:db'].defaultTag);
      assert.ok(bundled.length > 0);
      assert.deepEqual(pulled, bundled);
    });

    it('lets trivy rootfs --java-db-repository pull a Java DB pushed as trivy:java-db and name a JAR by its SHA-1', async (t) => {
      if (!trivyPath) {
        return t.skip(skipReason);
      }
      const project = path.join(scratch, 'jar-project');
      const sha1 = await writeAnonymousJar(path.join(project, 'libs', 'vendored.jar'));
      const javaDb = await buildJavaDbArchive(path.join(scratch, 'java-db'), sha1);
      await pushArtifact({
        reference: parseOciReference(`${open.host}/stella/trivy-java-db`),
        artifact: packageTrivyArtifact({
          kind: 'trivy:java-db',
          created: '2026-09-01T00:00:00Z',
          archive: javaDb,
        }),
      });

      const findings = await scanFromRegistry(
        trivyPath,
        path.join(scratch, 'jar-cache'),
        project,
        [
          '--db-repository',
          `${open.host}/stella/trivy-db`,
          '--java-db-repository',
          `${open.host}/stella/trivy-java-db`,
        ],
        'rootfs',
      );

      assert.ok(findings.length > 0);
      assert.ok(
        findings.every((finding) => finding.startsWith('jar org.apache.logging.log4j:log4j-core ')),
        findings.join('\n'),
      );
    });
  });
});

function restoreEnv(name: string, value: string | undefined) {
  if (value === undefined) {
    delete process.env[name];
  } else {
    process.env[name] = value;
  }
}

interface OciManifest {
  artifactType?: string;
  config: { digest: string; mediaType: string };
  layers: { digest: string; mediaType: string }[];
}

async function listDistributions(stack: ExportStack, runId: string): Promise<DistributionView[]> {
  const { distributions } = await stack
    .client()
    .json<{ distributions: DistributionView[] }>('GET', `/export/runs/${runId}/distributions`);

  return distributions;
}

function distributeWithCli(
  stack: ExportStack,
  runId: string,
  reference: string,
  env: NodeJS.ProcessEnv,
) {
  return runCli(
    ['--api-url', stack.api.url, 'export', 'distribute', runId, '--oci', reference, '--json'],
    {
      ...stellaEnv(stack.config),
      ...env,
    },
  );
}

function jsonBody(body: object) {
  return { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } };
}


async function getObject(minio: TestMinio, key: string): Promise<Buffer> {
  const answer = await minio.client.send(new GetObjectCommand({ Bucket: 'exports', Key: key }));

  return Buffer.from(await answer.Body!.transformToByteArray());
}

function sha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

// Trivy as a user runs it against a registry: only the repository flags (a loopback
// registry is reached over plain HTTP without further flags).
async function scanFromRegistry(
  trivy: string,
  cacheDir: string,
  project: string,
  repositories: string[],
  command = 'fs',
) {
  const args = [
    command,
    '--cache-dir',
    cacheDir,
    ...repositories,
    '--offline-scan',
    '--skip-version-check',
    '--disable-telemetry',
    '--scanners',
    'vuln',
    '--format',
    'json',
    '--quiet',
    project,
  ];
  const { stdout } = await run(trivy, args, {
    maxBuffer: 1 << 28,
    timeout: 300_000,
    env: {
      PATH: process.env.PATH,
      HOME: cacheDir,
      XDG_CACHE_HOME: cacheDir,
      TRIVY_NO_PROGRESS: 'true',
    },
  });

  return summarize(findingsOf(JSON.parse(stdout)));
}

// A JAR with neither pom.properties nor a manifest: Trivy can only name it by its SHA-1,
// which only the Java DB knows.
async function writeAnonymousJar(file: string): Promise<string> {
  const jar = storedZip([{ name: 'org/example/Hello.class', data: Buffer.from('not a class') }]);
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, jar);

  return createHash('sha1').update(jar).digest('hex');
}

async function buildJavaDbArchive(outDir: string, sha1: string) {
  async function* artifacts() {
    yield {
      groupId: 'org.apache.logging.log4j',
      artifactId: 'log4j-core',
      version: '2.14.1',
      sha1,
      archiveType: 'jar' as const,
    };
  }
  await buildTrivyJavaDb({ artifacts: artifacts(), outDir, now: new Date('2026-09-01T00:00:00Z') });
  const file = path.join(outDir, 'javadb.tar.gz');

  return { file, ...(await digestFile(file)) };
}

function findingsOf(report: {
  Results?: { Type: string; Vulnerabilities?: { PkgName: string; VulnerabilityID: string }[] }[];
}) {
  return (report.Results ?? []).flatMap((result) =>
    (result.Vulnerabilities ?? []).map((v) => ({
      type: result.Type,
      pkgName: v.PkgName,
      vulnerabilityId: v.VulnerabilityID,
    })),
  );
}

function summarize(
  findings: Pick<TrivyFinding, 'type' | 'pkgName' | 'vulnerabilityId'>[],
): string[] {
  return findings.map((f) => `${f.type} ${f.pkgName} ${f.vulnerabilityId}`).sort();
}
