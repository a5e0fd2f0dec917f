import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import type { PresignedDownloadView } from '../../api/routes/presigned-download.js';
import type { RunView } from '../../api/run-view.js';
import { bundlePaths } from '../../activities/bundle-paths.js';
import { removeQuietly } from '../../bundle/files.js';
import { StellaError } from '../../domain/errors.js';
import { ingestPaths } from '../../ingest/ingest-paths.js';
import { listAuditEntries } from '../../store/audit-store.js';
import { runCli } from '../support/cli.js';
import {
  EVIDENCE,
  startExportStack,
  stellaEnv,
  type ExportStack,
} from '../support/export-stack.js';
import { distributeAndWait, exportAndWait } from '../support/runs.js';
import { startMinio, type TestMinio } from '../support/minio.js';

const S3_ENV = ['STELLA_S3_ENDPOINT', 'STELLA_S3_ACCESS_KEY_ID', 'STELLA_S3_SECRET_ACCESS_KEY'];

describe('presigned bundle downloads', { timeout: 600_000 }, () => {
  let stack: ExportStack;
  let minio: TestMinio;
  let exported: RunView;
  let archive: Buffer;
  let scratch: string;
  const saved = Object.fromEntries(S3_ENV.map((name) => [name, process.env[name]]));

  before(async () => {
    scratch = await mkdtemp(path.join(os.tmpdir(), 'stella-presign-'));
    minio = await startMinio();
    await minio.createBucket('exports');
    // The API signs and the worker uploads with the same settings, read from the environment.
    process.env.STELLA_S3_ENDPOINT = minio.endpoint;
    process.env.STELLA_S3_ACCESS_KEY_ID = minio.credentials.accessKeyId;
    process.env.STELLA_S3_SECRET_ACCESS_KEY = minio.credentials.secretAccessKey;
    stack = await startExportStack();
    await ingestPaths(stack.db, 'default', [EVIDENCE]);
    // Any published bundle will do; a Trivy DB run needs no VEX or SBOM adapters.
    exported = await exportAndWait(stack, { profileId: 'prof_trivy_db' });
    const paths = bundlePaths(stack.config, { tenant: 'default', runId: exported.id });
    archive = await readFile(paths.archive);
  });

  after(async () => {
    for (const [name, value] of Object.entries(saved)) {
      if (value === undefined) {
        delete process.env[name];
      } else {
        process.env[name] = value;
      }
    }
    await stack?.stop();
    await minio?.stop();
    await removeQuietly(scratch);
  });

  describe('GET /export/runs/:id/download?mode=presigned', () => {
    describe('when the run has no objstore distribution yet', () => {
      it('throws not_found', async () => {
        await assert.rejects(presign(stack, exported.id), (err: unknown) => {
          assert.ok(err instanceof StellaError);
          assert.equal(err.code, 'not_found');

          return true;
        });
      });
    });

    describe('when the bundle was distributed to a bucket', () => {
      let answer: PresignedDownloadView;

      before(async () => {
        const view = await distributeAndWait(stack, exported.id, {
          type: 'objstore',
          target: 's3://exports/nightly/presigned',
        });
        assert.equal(view.state, 'succeeded', `${view.errorClass}: ${view.errorMessage}`);
        answer = await presign(stack, exported.id, 120);
      });

      it('returns a URL on the bucket that downloads the exact bytes without a token', async () => {
        const response = await fetch(answer.url);
        const bytes = Buffer.from(await response.arrayBuffer());

        assert.equal(response.status, 200);
        assert.ok(answer.url.startsWith(`${minio.endpoint}/exports/nightly/presigned/`));
        assert.equal(answer.key, `nightly/presigned/${exported.id}.tar.zst`);
        assert.equal(sha256(bytes), exported.artifact!.sha256);
        assert.ok(bytes.equals(archive));
      });

      it('returns the expiry asked for and the hash to check against', () => {
        const lifetime = Date.parse(answer.expiresAt) - Date.now();

        assert.equal(answer.sha256, exported.artifact!.sha256);
        assert.equal(answer.size, archive.byteLength);
        assert.ok(lifetime > 60_000 && lifetime <= 120_000, `${lifetime} ms left`);
      });

      it('returns an answer that is recorded in the audit log as bundle.presign', async () => {
        const entries = await listAuditEntries(stack.db, 'default', {
          action: 'bundle.presign',
          limit: 10,
        });

        assert.ok(entries.length >= 1);
        assert.equal(entries[0].target, exported.id);
        assert.equal(entries[0].details.key, answer.key);
      });

      it('returns a URL that MinIO refuses once it has expired', async () => {
        const shortLived = await presign(stack, exported.id, 1);
        await sleep(2_500);
        const response = await fetch(shortLived.url);
        const body = await response.text();

        assert.equal(response.status, 403);
        assert.match(body, /<Code>AccessDenied<\/Code>/);
        assert.match(body, /expired/i);
      });

      it('throws not_found for a run of another tenant', async () => {
        await assert.rejects(presign(stack, exported.id, 60, 'other-tenant'), (err: unknown) => {
          assert.ok(err instanceof StellaError);
          assert.equal(err.code, 'not_found');

          return true;
        });
      });

      it('throws bad_request for a lifetime past seven days', async () => {
        await assert.rejects(presign(stack, exported.id, 8 * 24 * 3600), (err: unknown) => {
          assert.ok(err instanceof StellaError);
          assert.equal(err.code, 'bad_request');

          return true;
        });
      });
    });
  });

  describe('stella export run download --presigned', () => {
    describe('when nothing was downloaded before', () => {
      it('writes the bundle fetched from the bucket and checks its hash', async () => {
        const out = path.join(scratch, 'fresh.tar.zst');
        const result = await downloadWithCli(stack, exported.id, out);

        assert.equal(result.code, 0, result.stderr);
        const printed = JSON.parse(result.stdout) as { source: string; sha256: string };
        assert.equal(printed.source, 'presigned');
        assert.equal(printed.sha256, exported.artifact!.sha256);
        assert.ok((await readFile(out)).equals(archive));
      });
    });

    describe('when half of the bundle is already in the partial file', () => {
      it('resumes from there with a range request to the bucket', async () => {
        const out = path.join(scratch, 'resumed.tar.zst');
        const half = Math.floor(archive.byteLength / 2);
        await writeFile(`${out}.partial`, archive.subarray(0, half));
        const result = await downloadWithCli(stack, exported.id, out);

        assert.equal(result.code, 0, result.stderr);
        assert.equal((JSON.parse(result.stdout) as { resumedFrom: number }).resumedFrom, half);
        assert.ok((await readFile(out)).equals(archive));
      });
    });

    describe('when the partial file holds other bytes', () => {
      it('exits 6 with integrity_failed and leaves no file under the final name', async () => {
        const out = path.join(scratch, 'corrupt.tar.zst');
        await writeFile(`${out}.partial`, Buffer.alloc(100, 0x41));
        const result = await downloadWithCli(stack, exported.id, out);

        assert.equal(result.code, 6, result.stderr);
        assert.match(result.stderr, /integrity_failed/);
        await assert.rejects(stat(out), { code: 'ENOENT' });
      });
    });
  });
});

function presign(stack: ExportStack, runId: string, expiresIn?: number, tenant = 'default') {
  const query = `mode=presigned${expiresIn ? `&expiresIn=${expiresIn}` : ''}`;

  return stack
    .client(tenant)
    .json<PresignedDownloadView>('GET', `/export/runs/${runId}/download?${query}`);
}

function downloadWithCli(stack: ExportStack, runId: string, out: string) {
  const args = ['export', 'run', 'download', runId, '--out', out, '--presigned', '--json'];

  return runCli(['--api-url', stack.api.url, ...args], stellaEnv(stack.config));
}

function sha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}
