// Push and upload throughput of the distribution engines against local servers, next to an
// independent client pushing the same bytes:
//   OCI: pushArtifact (64 MiB chunks) vs `oras push` into a loopback docker-registry;
//   S3:  uploadObjects (multipart, 16 MiB parts, SHA-256 per part) vs one plain SDK
//        PutObject of the whole file into MinIO (no awscli/mc here to compare with).
//
//   npm run bench -- distribution                       (256 MiB, CI-sized)
//   STELLA_BENCH_DISTRIBUTION_MIB=1024 npm run bench -- distribution
//   node --import tsx bench/distribution.ts --mib 1024
//
// The bundle is random bytes (incompressible, like a .tar.zst). Each run pushes to a fresh
// repository / prefix so that nothing is skipped as already present.
import { execFile } from 'node:child_process';
import { createReadStream, existsSync } from 'node:fs';
import { mkdtemp, open, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { createHash, randomBytes } from 'node:crypto';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { digestFile } from '../bundle/files.js';
import { uploadObjects } from '../distribution/objstore/upload-objects.js';
import { parseS3Target } from '../distribution/objstore/s3-target.js';
import { packageBundleArtifact } from '../distribution/oci/artifact.js';
import { pushArtifact } from '../distribution/oci/push-artifact.js';
import { parseOciReference } from '../distribution/oci/reference.js';
import { packageRoot } from '../platform/package-root.js';
import { startMinio } from '../test/support/minio.js';
import { registryAvailable, startRegistry } from '../test/support/registry.js';

const run = promisify(execFile);
const MiB = 1024 * 1024;
const ORAS = path.join(packageRoot(), '.tools', 'oras', 'v1.2.3', 'oras');

const mib = sizeInMib();
const scratch = await mkdtemp(path.join(os.tmpdir(), 'stella-bench-dist-'));
try {
  const bundle = await randomFile(path.join(scratch, 'bundle.tar.zst'), mib * MiB);
  console.log(`bundle: ${mib} MiB of random bytes`);
  await benchOci(bundle);
  await benchS3(bundle);
} finally {
  await rm(scratch, { recursive: true, force: true });
}

function sizeInMib(): number {
  const flag = process.argv.indexOf('--mib');
  const value = flag >= 0 ? process.argv[flag + 1] : process.env.STELLA_BENCH_DISTRIBUTION_MIB;

  return Number(value ?? 256);
}

async function randomFile(file: string, size: number) {
  const handle = await open(file, 'w');
  for (let written = 0; written < size; written += 8 * MiB) {
    await handle.write(randomBytes(Math.min(8 * MiB, size - written)));
  }
  await handle.close();

  return { file, ...(await digestFile(file)) };
}

async function benchOci(bundle: { file: string; sha256: string; size: number }) {
  const missing = registryAvailable();
  if (missing) {
    console.log(`oci: skipped (${missing})`);

    return;
  }
  const registry = await startRegistry();
  try {
    const artifact = packageBundleArtifact({
      runId: 'run_bench_distribution',
      profileKind: 'json:raw',
      created: new Date(0).toISOString(),
      archive: { ...bundle, name: 'bundle.tar.zst' },
      exportManifest: Buffer.from('{}\n'),
    });
    const ours = await timed(() =>
      pushArtifact({ reference: parseOciReference(`${registry.host}/bench/stella:1`), artifact }),
    );
    report('oci push, stella', bundle.size, ours);

    if (!existsSync(ORAS)) {
      console.log(`oci push, oras: skipped (no ${ORAS}; .ci/install-tools.sh builds it)`);

      return;
    }
    const oras = await timed(() =>
      run(
        ORAS,
        [
          'push',
          '--plain-http',
          `${registry.host}/bench/oras:1`,
          'bundle.tar.zst:application/vnd.stella.export.bundle.v1.tar+zstd',
        ],
        {
          cwd: path.dirname(bundle.file),
          env: { ...process.env, HOME: scratch },
        },
      ),
    );
    report('oci push, oras 1.2.3', bundle.size, oras);
  } finally {
    await registry.stop();
  }
}

async function benchS3(bundle: { file: string; sha256: string; size: number }) {
  const minio = await startMinio();
  try {
    await minio.createBucket('bench');
    const marker = Buffer.from('{}\n');
    const markerSha256 = createHash('sha256').update(marker).digest('hex');
    const ours = await timed(() =>
      uploadObjects({
        client: minio.client,
        target: parseS3Target('s3://bench/stella'),
        objects: [{ name: 'bundle.tar.zst', contentType: 'application/zstd', ...bundle }],
        marker: {
          name: '_SUCCESS',
          contentType: 'application/json',
          bytes: marker,
          sha256: markerSha256,
          size: marker.byteLength,
        },
      }),
    );
    report('s3 upload, stella multipart', bundle.size, ours);

    const plain = await timed(() =>
      minio.client.send(
        new PutObjectCommand({
          Bucket: 'bench',
          Key: 'plain/bundle.tar.zst',
          Body: createReadStream(bundle.file),
          ContentLength: bundle.size,
        }),
      ),
    );
    report('s3 upload, single SDK PutObject', bundle.size, plain);
  } finally {
    await minio.stop();
  }
}

async function timed(action: () => Promise<unknown>): Promise<number> {
  const start = process.hrtime.bigint();
  await action();

  return Number(process.hrtime.bigint() - start) / 1e9;
}

function report(label: string, bytes: number, seconds: number) {
  const throughput = (bytes / MiB / seconds).toFixed(1);
  console.log(
    `${label.padEnd(34)} ${seconds.toFixed(2).padStart(7)} s  ${throughput.padStart(7)} MiB/s`,
  );
}
