import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { CreateBucketCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { removeQuietly } from '../../bundle/files.js';
import { createS3Client } from '../../distribution/objstore/s3-target.js';
import { packageRoot } from '../../platform/package-root.js';
import { freePort, stopProcess } from '../../temporal-dev/dev-server.js';

const run = promisify(execFile);

// A pinned MinIO whose go.mod has no replace directive, so `go install …@version` builds it.
export const MINIO_VERSION = 'v0.0.0-20260212201848-7aac2a2c5b7c';

export interface TestMinio {
  endpoint: string; // http://127.0.0.1:PORT
  credentials: { accessKeyId: string; secretAccessKey: string };
  client: S3Client;
  createBucket(name: string): Promise<void>;
  listKeys(bucket: string, prefix?: string): Promise<string[]>;
  kill(): Promise<void>;
  restart(): Promise<void>;
  stop(): Promise<void>;
}

export function minioBinary(): string {
  return (
    process.env.STELLA_MINIO_BIN ??
    path.join(packageRoot(), '.tools', 'minio', MINIO_VERSION, 'minio')
  );
}

export async function ensureMinio(): Promise<string> {
  const binary = minioBinary();
  if (!existsSync(binary)) {
    await run('go', ['install', `github.com/minio/minio@${MINIO_VERSION}`], {
      env: { ...process.env, GOBIN: path.dirname(binary) },
      timeout: 30 * 60_000,
      maxBuffer: 1 << 26,
    });
  }

  return binary;
}

// MinIO in single-drive mode on 127.0.0.1 with its data in a temp folder; kill() and
// restart() keep the port and the data, as a crashed and restarted server would.
export async function startMinio(): Promise<TestMinio> {
  const binary = await ensureMinio();
  const dir = await mkdtemp(path.join(os.tmpdir(), 'stella-minio-'));
  const port = await freePort();
  const consolePort = await freePort();
  const credentials = { accessKeyId: 'stella-test', secretAccessKey: 'stella-test-secret-key' };
  const start = () => launch(binary, { dir, port, consolePort, credentials });
  let child = await start();
  const endpoint = `http://127.0.0.1:${port}`;
  const client = createS3Client({ endpoint, credentials });

  return {
    endpoint,
    credentials,
    client,
    createBucket: async (name) => {
      await client.send(new CreateBucketCommand({ Bucket: name }));
    },
    listKeys: async (bucket, prefix) => {
      const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }));

      return (page.Contents ?? []).map((object) => object.Key!).sort();
    },
    kill: async () => {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGKILL');
      await exited;
    },
    restart: async () => {
      child = await start();
    },
    stop: async () => {
      client.destroy();
      await stopProcess(child, 5_000);
      await removeQuietly(dir);
    },
  };
}

interface LaunchOptions {
  dir: string;
  port: number;
  consolePort: number;
  credentials: { accessKeyId: string; secretAccessKey: string };
}

async function launch(binary: string, options: LaunchOptions): Promise<ChildProcess> {
  const args = [
    'server',
    path.join(options.dir, 'data'),
    '--address',
    `127.0.0.1:${options.port}`,
    '--console-address',
    `127.0.0.1:${options.consolePort}`,
    '--quiet',
  ];
  const child = spawn(binary, args, {
    env: {
      PATH: process.env.PATH,
      HOME: options.dir,
      MINIO_ROOT_USER: options.credentials.accessKeyId,
      MINIO_ROOT_PASSWORD: options.credentials.secretAccessKey,
      MINIO_BROWSER: 'off',
      MINIO_UPDATE: 'off',
      MINIO_CI_CD: '1',
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let log = '';
  child.stderr!.on('data', (chunk: Buffer) => (log = (log + chunk.toString()).slice(-4000)));
  await waitReady(child, options.port, () => log);

  return child;
}

async function waitReady(child: ChildProcess, port: number, log: () => string) {
  for (let i = 0; i < 300; i++) {
    if (child.exitCode !== null) {
      throw new Error(`minio exited with ${child.exitCode}: ${log()}`);
    }
    const ready = await fetch(`http://127.0.0.1:${port}/minio/health/ready`).then(
      (res) => res.ok,
      () => false,
    );
    if (ready) {
      return;
    }
    await sleep(100);
  }
  child.kill('SIGKILL');
  throw new Error(`minio did not become ready on ${port}: ${log()}`);
}
