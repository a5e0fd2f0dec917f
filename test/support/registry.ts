import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { removeQuietly } from '../../bundle/files.js';
import { packageRoot } from '../../platform/package-root.js';
import { freePort, stopProcess } from '../../temporal-dev/dev-server.js';
import {
  startTokenService,
  TOKEN_ISSUER,
  TOKEN_SERVICE_NAME,
  type TokenService,
} from './token-service.js';

const run = promisify(execFile);

export const REGISTRY_BIN = process.env.STELLA_REGISTRY_BIN ?? '/usr/bin/docker-registry';
export const CRANE_VERSION = 'v0.21.9';

export interface TestRegistry {
  host: string; // 127.0.0.1:PORT
  storageDir: string;
  credentials?: { username: string; password: string };
  tokenService?: TokenService; // with `auth: 'token'`
  // SIGKILL, as a crash would; restart() brings it back on the same port and storage.
  kill(): Promise<void>;
  restart(): Promise<void>;
  blobDigests(): Promise<string[]>;
  stop(): Promise<void>;
}

export function registryAvailable(): string | undefined {
  return existsSync(REGISTRY_BIN)
    ? undefined
    : `no ${REGISTRY_BIN}: apt-get install -y docker-registry`;
}

// The Debian `docker-registry` (CNCF distribution 2.8) on 127.0.0.1 with a config of our
// own: filesystem storage in a temp folder, a fixed HTTP secret (so upload sessions survive
// a restart), and optionally auth: htpasswd basic auth (`true`), or bearer tokens from a
// token service started beside it (`'token'`).
export async function startRegistry(options: { auth?: boolean | 'token' } = {}): Promise<TestRegistry> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'stella-registry-'));
  const port = await freePort();
  const storageDir = path.join(dir, 'data');
  const credentials = options.auth
    ? { username: 'stella', password: 'correct horse battery' }
    : undefined;
  let auth = '';
  let tokenService: TokenService | undefined;
  if (credentials && options.auth === 'token') {
    tokenService = await startTokenService(dir, credentials);
    auth = tokenAuthConfig(tokenService);
  } else if (credentials) {
    await writeHtpasswd(path.join(dir, 'htpasswd'), credentials);
    auth = `auth:\n  htpasswd:\n    realm: stella-test\n    path: ${path.join(dir, 'htpasswd')}\n`;
  }
  const configFile = path.join(dir, 'config.yml');
  await writeFile(configFile, registryConfig(port, storageDir, auth));

  let child = await launch(configFile, port);

  return {
    host: `127.0.0.1:${port}`,
    storageDir,
    credentials,
    tokenService,
    kill: async () => {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGKILL');
      await exited;
    },
    restart: async () => {
      child = await launch(configFile, port);
    },
    blobDigests: () => listBlobs(storageDir),
    stop: async () => {
      await stopProcess(child, 3_000);
      await tokenService?.stop();
      await removeQuietly(dir);
    },
  };
}

function tokenAuthConfig(service: TokenService): string {
  return [
    'auth:',
    '  token:',
    `    realm: ${service.realm}`,
    `    service: ${TOKEN_SERVICE_NAME}`,
    `    issuer: ${TOKEN_ISSUER}`,
    `    rootcertbundle: ${service.certFile}`,
    '',
  ].join('\n');
}

function registryConfig(port: number, storageDir: string, auth: string): string {
  return [
    'version: 0.1',
    'log:',
    '  level: error',
    '  accesslog:',
    '    disabled: true',
    'storage:',
    '  filesystem:',
    `    rootdirectory: ${storageDir}`,
    '  maintenance:',
    '    uploadpurging:',
    '      enabled: false',
    'http:',
    `  addr: 127.0.0.1:${port}`,
    '  secret: stella-test-registry-secret',
    auth,
  ].join('\n');
}

async function writeHtpasswd(file: string, credentials: { username: string; password: string }) {
  // The registry accepts bcrypt entries only.
  const { stdout } = await run('htpasswd', ['-nbB', credentials.username, credentials.password]);
  await writeFile(file, stdout.trim() + '\n');
}

async function launch(configFile: string, port: number): Promise<ChildProcess> {
  const child = spawn(REGISTRY_BIN, ['serve', configFile], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr!.on('data', (chunk: Buffer) => (log = (log + chunk.toString()).slice(-4000)));
  for (let i = 0; i < 100; i++) {
    if (child.exitCode !== null) {
      throw new Error(`docker-registry exited with ${child.exitCode}: ${log}`);
    }
    const up = await fetch(`http://127.0.0.1:${port}/v2/`).then(
      () => true,
      () => false,
    );
    if (up) {
      return child;
    }
    await sleep(100);
  }
  child.kill('SIGKILL');
  throw new Error(`docker-registry did not listen on ${port}: ${log}`);
}

// Blobs as the filesystem driver stores them: docker/registry/v2/blobs/sha256/<2>/<hex>/data.
async function listBlobs(storageDir: string): Promise<string[]> {
  const root = path.join(storageDir, 'docker', 'registry', 'v2', 'blobs', 'sha256');
  const prefixes = await readdir(root).catch(() => [] as string[]);
  const digests: string[] = [];
  for (const prefix of prefixes) {
    for (const hex of await readdir(path.join(root, prefix))) {
      if (existsSync(path.join(root, prefix, hex, 'data'))) {
        digests.push(`sha256:${hex}`);
      }
    }
  }

  return digests.sort();
}

// An independent OCI client for cross-checks: crane from go-containerregistry, built once
// into .tools/crane/<version>/ with `go install`.
export async function ensureCrane(): Promise<string> {
  const binDir = path.join(packageRoot(), '.tools', 'crane', CRANE_VERSION);
  const binary = path.join(binDir, 'crane');
  if (!existsSync(binary)) {
    await run(
      'go',
      ['install', `github.com/google/go-containerregistry/cmd/crane@${CRANE_VERSION}`],
      {
        env: { ...process.env, GOBIN: binDir },
        timeout: 15 * 60_000,
      },
    );
  }

  return binary;
}

export async function crane(
  args: string[],
  options: { env?: NodeJS.ProcessEnv } = {},
): Promise<string> {
  const { stdout } = await run(await ensureCrane(), args, {
    env: { ...process.env, ...options.env },
    maxBuffer: 1 << 26,
    encoding: 'buffer',
  });

  return (stdout as unknown as Buffer).toString('utf8');
}

// A blob as an independent client (crane) reads it from a registry.
export async function craneBlob(reference: string): Promise<Buffer> {
  const { stdout } = await run(await ensureCrane(), ['blob', reference], {
    encoding: 'buffer',
    maxBuffer: 1 << 28,
  });

  return stdout;
}
