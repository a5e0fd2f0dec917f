import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { ListMultipartUploadsCommand, type S3Client } from '@aws-sdk/client-s3';
import { removeQuietly } from '../../bundle/files.js';
import { StellaError } from '../../domain/errors.js';
import { uploadObjects, type ObjectSource } from '../../distribution/objstore/upload-objects.js';
import { parseS3Target } from '../../distribution/objstore/s3-target.js';
import { packageBundleArtifact } from '../../distribution/oci/artifact.js';
import { pushArtifact } from '../../distribution/oci/push-artifact.js';
import { parseOciReference } from '../../distribution/oci/reference.js';
import { startMinio, type TestMinio } from '../support/minio.js';
import {
  craneBlob,
  registryAvailable,
  startRegistry,
  type TestRegistry,
} from '../support/registry.js';

const MiB = 1024 * 1024;
const SIZE = 40 * MiB;

// The engines against real servers that die mid-upload: SIGKILL, restart on the same port
// and storage, and the upload must finish without a second copy of anything.
describe('distribution engines', { timeout: 240_000, skip: registryAvailable() }, () => {
  let scratch: string;
  let bundle: { file: string; sha256: string; size: number };

  before(async () => {
    scratch = await mkdtemp(path.join(os.tmpdir(), 'stella-dist-resume-'));
    const bytes = randomBytes(SIZE);
    bundle = { file: path.join(scratch, 'bundle.tar.zst'), sha256: sha256(bytes), size: SIZE };
    await writeFile(bundle.file, bytes);
  });

  after(async () => {
    await removeQuietly(scratch);
  });

  describe('pushArtifact', () => {
    let registry: TestRegistry;

    before(async () => {
      registry = await startRegistry();
    });

    after(async () => {
      await registry?.stop();
    });

    describe('when the registry is killed during a chunked upload and comes back', () => {
      it('returns the pushed manifest, resumes the same upload session and stores each blob once', async () => {
        const artifact = artifactOf(bundle);
        const outage = outageAfter(
          12 * MiB,
          () => registry.kill(),
          () => registry.restart(),
        );
        const result = await pushArtifact({
          reference: parseOciReference(`${registry.host}/stella/resume:1`),
          artifact,
          monolithicLimit: MiB,
          chunkSize: 4 * MiB,
          onProgress: (progress) => outage.observe(progress.uploaded),
        });
        const pulled = await craneBlob(`${registry.host}/stella/resume@sha256:${bundle.sha256}`);

        assert.equal(outage.happened(), true);
        assert.equal(result.manifestDigest, artifact.manifestDigest);
        assert.equal(sha256(pulled), bundle.sha256);
        assert.deepEqual(
          await registry.blobDigests(),
          [...artifact.blobs.map((b) => b.digest), artifact.manifestDigest].sort(),
        );
        assert.deepEqual(await openUploadSessions(registry, 'stella/resume'), []);
      });
    });

    describe('when a push dies and a new one is given the upload session it reported', () => {
      it('returns the pushed manifest after sending only the bytes the registry lacked', async () => {
        const artifact = artifactOf(bundle);
        const reference = parseOciReference(`${registry.host}/stella/crash:1`);
        const sessions: Record<string, string> = {};
        const crashing = pushArtifact({
          reference,
          artifact,
          monolithicLimit: MiB,
          chunkSize: 4 * MiB,
          onProgress: (progress) => {
            sessions[progress.digest] = progress.location ?? sessions[progress.digest];
            if (progress.uploaded >= 20 * MiB) {
              throw new Error('worker died');
            }
          },
        });
        await assert.rejects(crashing, /worker died/);

        const sent = countPatchedBytes();
        const result = await pushArtifact({
          reference,
          artifact,
          monolithicLimit: MiB,
          chunkSize: 4 * MiB,
          resumeUploads: sessions,
          fetch: sent.fetch,
        });

        assert.equal(result.manifestDigest, artifact.manifestDigest);
        assert.equal(sent.bytes(), SIZE - 20 * MiB);
        assert.deepEqual(await openUploadSessions(registry, 'stella/crash'), []);
      });
    });

    describe('when the first mount source lacks the blobs and the second has them', () => {
      it('returns every blob mounted and leaves no upload session open', async () => {
        const result = await pushArtifact({
          reference: parseOciReference(`${registry.host}/stella/mounted:1`),
          artifact: artifactOf(bundle),
          mountFrom: ['stella/empty', 'stella/resume'],
        });

        assert.deepEqual(
          result.blobs.map((blob) => blob.outcome),
          ['mounted', 'mounted'],
        );
        assert.deepEqual(await openUploadSessions(registry, 'stella/mounted'), []);
      });
    });

    describe('when the credentials are wrong', () => {
      it('throws denied before sending any blob', async () => {
        const locked = await startRegistry({ auth: true });
        try {
          const push = pushArtifact({
            reference: parseOciReference(`${locked.host}/stella/locked:1`),
            artifact: artifactOf(bundle),
            credentials: { username: 'stella', password: 'wrong' },
          });

          await assert.rejects(
            push,
            (err: unknown) => err instanceof StellaError && err.code === 'denied',
          );
          assert.deepEqual(await locked.blobDigests(), []);
        } finally {
          await locked.stop();
        }
      });
    });
  });

  describe('uploadObjects', () => {
    let minio: TestMinio;

    before(async () => {
      minio = await startMinio();
      await minio.createBucket('exports');
    });

    after(async () => {
      await minio?.stop();
    });

    describe('when MinIO is killed during a multipart upload and comes back', () => {
      it('returns every object uploaded, writes the marker last and leaves no open upload', async () => {
        const calls = recordCalls(minio.client);
        const outage = outageAfter(
          10 * MiB,
          () => minio.kill(),
          () => minio.restart(),
        );
        const result = await uploadObjects({
          ...uploadOptions(minio, 's3://exports/resume/a', bundle),
          onProgress: (progress) => outage.observe(progress.uploaded),
        });
        const writes = calls.filter((call) =>
          ['PutObjectCommand', 'CompleteMultipartUploadCommand'].includes(call.command),
        );

        assert.equal(outage.happened(), true);
        assert.deepEqual(
          result.objects.map((o) => o.outcome),
          ['uploaded', 'uploaded'],
        );
        assert.deepEqual(await minio.listKeys('exports', 'resume/a/'), [
          'resume/a/_SUCCESS',
          'resume/a/bundle.tar.zst',
          'resume/a/export.json',
        ]);
        assert.equal(writes.at(-1)?.key, 'resume/a/_SUCCESS');
        assert.deepEqual(await openUploads(minio.client), []);
      });
    });

    describe('when MinIO stays down longer than the retries and the upload is started again', () => {
      it('throws unavailable first, then reuses the parts already stored and completes', async () => {
        const options = uploadOptions(minio, 's3://exports/resume/b', bundle);
        const outage = outageAfter(
          15 * MiB,
          () => minio.kill(),
          async () => undefined,
        );
        const first = uploadObjects({
          ...options,
          retry: { attempts: 2, initialDelayMs: 50, maxDelayMs: 100 },
          onProgress: (progress) => outage.observe(progress.uploaded),
        });
        await assert.rejects(
          first,
          (err: unknown) => err instanceof StellaError && err.code === 'unavailable',
        );
        await outage.settled();
        await minio.restart();

        const calls = recordCalls(minio.client);
        const second = await uploadObjects(options);
        const partsSent = calls.filter((call) => call.command === 'UploadPartCommand').length;

        assert.equal(second.objects[0].outcome, 'uploaded');
        assert.ok(
          partsSent > 0 && partsSent < Math.ceil(SIZE / (5 * MiB)),
          `sent ${partsSent} parts again`,
        );
        assert.deepEqual(await openUploads(minio.client), []);
        assert.deepEqual(await minio.listKeys('exports', 'resume/b/'), [
          'resume/b/_SUCCESS',
          'resume/b/bundle.tar.zst',
          'resume/b/export.json',
        ]);
      });
    });

    describe('when everything is already in place', () => {
      it('returns every object present and writes nothing', async () => {
        const calls = recordCalls(minio.client);
        const result = await uploadObjects(uploadOptions(minio, 's3://exports/resume/a', bundle));

        assert.deepEqual(
          [...result.objects, result.marker].map((o) => o.outcome),
          ['present', 'present', 'present'],
        );
        assert.deepEqual(
          calls.filter((call) => !call.command.startsWith('Head')),
          [],
        );
      });
    });
  });
});

function artifactOf(bundle: { file: string; sha256: string; size: number }) {
  return packageBundleArtifact({
    runId: 'run_default_resume',
    profileKind: 'json:raw',
    created: '2026-01-01T00:00:00Z',
    archive: { ...bundle, name: 'run_default_resume.tar.zst' },
    exportManifest: Buffer.from('{"schema":"stella.export-manifest/v1"}\n'),
  });
}

function uploadOptions(
  minio: TestMinio,
  target: string,
  bundle: { file: string; sha256: string; size: number },
) {
  const manifest = bytesObject(
    'export.json',
    Buffer.from('{"schema":"stella.export-manifest/v1"}\n'),
  );

  return {
    client: minio.client,
    target: parseS3Target(target),
    objects: [{ name: 'bundle.tar.zst', contentType: 'application/zstd', ...bundle }, manifest],
    marker: bytesObject('_SUCCESS', Buffer.from(`{"bundle":"${bundle.sha256}"}\n`)),
    multipartThreshold: 8 * MiB,
    partSize: 5 * MiB,
  };
}

function bytesObject(name: string, bytes: Buffer): ObjectSource {
  return {
    name,
    contentType: 'application/json',
    bytes,
    sha256: sha256(bytes),
    size: bytes.byteLength,
  };
}

// Kills the server once the upload has passed `threshold` bytes and brings it back 1.5 s
// later, while the engine is retrying.
function outageAfter(threshold: number, kill: () => Promise<void>, restart: () => Promise<void>) {
  let outage: Promise<void> | undefined;

  return {
    observe: (uploaded: number) => {
      if (!outage && uploaded >= threshold) {
        outage = kill()
          .then(() => sleep(1500))
          .then(restart);
      }
    },
    happened: () => outage !== undefined,
    settled: () => outage ?? Promise.resolve(),
  };
}

function countPatchedBytes() {
  let bytes = 0;
  const counting: typeof fetch = (url, init) => {
    if (init?.method === 'PATCH') {
      bytes += Number(new Headers(init.headers).get('content-length'));
    }

    return fetch(url, init);
  };

  return { fetch: counting, bytes: () => bytes };
}

function recordCalls(client: S3Client): { command: string; key?: string }[] {
  const calls: { command: string; key?: string }[] = [];
  const name = `record-${randomBytes(4).toString('hex')}`;
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const result = await next(args);
      calls.push({
        command: context.commandName ?? '?',
        key: (args.input as { Key?: string }).Key,
      });

      return result;
    },
    { step: 'initialize', name },
  );

  return calls;
}

async function openUploads(client: S3Client): Promise<string[]> {
  const page = await client.send(new ListMultipartUploadsCommand({ Bucket: 'exports' }));

  return (page.Uploads ?? []).map((upload) => upload.Key!);
}

// Upload sessions the registry still holds open: a cancelled one keeps only its hash state
// (a quirk of distribution 2.8), an open one keeps `startedat`.
async function openUploadSessions(registry: TestRegistry, repository: string): Promise<string[]> {
  const v2 = path.join(registry.storageDir, 'docker', 'registry', 'v2');
  const dir = path.join(v2, 'repositories', repository, '_uploads');
  const sessions = await readdir(dir).catch(() => []);

  return sessions.filter((session) => existsSync(path.join(dir, session, 'startedat')));
}


function sha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}
