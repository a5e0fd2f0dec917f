import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { localKeyDir } from '../../api/auth/auth-config.js';
import { ensureLocalIssuerKey, mintLocalToken } from '../../api/auth/local-issuer.js';
import type { Role } from '../../api/auth/roles.js';
import { ApiClient } from '../../cli/api-client.js';
import { removeQuietly } from '../../bundle/files.js';
import { loadConfig, type StellaConfig } from '../../platform/config.js';
import { createLogger } from '../../platform/logger.js';
import { packageRoot } from '../../platform/package-root.js';
import { connectTemporal, type TemporalHandle } from '../../platform/temporal.js';
import { startApiServer, type RunningApi } from '../../stack/api-server.js';
import { migrateDatabase, openDatabase, type Database } from '../../store/database.js';
import { freePort, startDevServer, stopProcess, type DevServer } from '../../temporal-dev/dev-server.js';
import { ensureTemporalCli } from '../../temporal-dev/temporal-cli.js';

export interface ExportStack {
  config: StellaConfig;
  db: Database;
  temporal: DevServer;
  temporalClient: TemporalHandle;
  api: RunningApi;
  workers: ChildProcess[];
  client(tenant?: string): ApiClient;
  token(tenant?: string, roles?: Role[]): Promise<string>;
  startWorker(): Promise<ChildProcess>;
  stop(): Promise<void>;
}

// A real stack for integration tests: a Temporal dev server on a free port, a fresh SQLite
// store in a temp folder, the API in this process and workers as child processes (so a
// test can SIGKILL one). Everything listens on 127.0.0.1 and is stopped by stop().
export async function startExportStack(
  options: { workers?: number; databaseUrl?: string } = {},
): Promise<ExportStack> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'stella-it-'));
  const cli = await ensureTemporalCli();
  if (!cli) {
    throw new Error('no Temporal CLI: run .ci/run once or set TEMPORAL_CLI');
  }
  const temporal = await startDevServer({ cli, dbFile: path.join(dataDir, 'temporal.db') });
  const config: StellaConfig = {
    ...loadConfig({ STELLA_DATA_DIR: dataDir, DATABASE_URL: options.databaseUrl }),
    temporalAddress: temporal.address,
    apiPort: await freePort(),
    taskQueue: `stella-it-${path.basename(dataDir)}`,
  };
  await migrateDatabase(config.databaseUrl);
  const db = await openDatabase(config.databaseUrl);
  const logger = createLogger('stella-test', process.env.STELLA_TEST_LOG_LEVEL ?? 'silent');
  const api = await startApiServer(config, logger);
  const temporalClient = await connectTemporal(config);
  const workers: ChildProcess[] = [];

  const stack: ExportStack = {
    config,
    db,
    temporal,
    temporalClient,
    api,
    workers,
    client: (tenant = 'default') => new ApiClient({ baseUrl: api.url, tenant, dataDir }),
    token: (tenant = 'default', roles = ['Export.Admin']) => localToken(dataDir, tenant, roles),
    startWorker: async () => {
      const worker = await spawnWorker(config);
      workers.push(worker);

      return worker;
    },
    stop: async () => {
      await Promise.all(workers.map((w) => stopProcess(w, 5_000)));
      await api.close();
      await temporalClient.close();
      await db.$disconnect();
      await temporal.stop();
      await removeQuietly(dataDir);
    },
  };
  for (let i = 0; i < (options.workers ?? 1); i++) {
    await stack.startWorker();
  }

  return stack;
}

// A bearer token from the stack's local issuer, for tests that call the API with fetch.
export async function localToken(dataDir: string, tenant: string, roles: Role[]): Promise<string> {
  const key = ensureLocalIssuerKey(localKeyDir(dataDir));

  return mintLocalToken(key, { tenant, roles, subject: 'integration-test', ttlSeconds: 600 });
}

export function stellaEnv(config: StellaConfig): NodeJS.ProcessEnv {
  return {
    ...process.env,
    STELLA_DATA_DIR: config.dataDir,
    DATABASE_URL: config.databaseUrl,
    TEMPORAL_ADDRESS: config.temporalAddress,
    STELLA_TASK_QUEUE: config.taskQueue,
    STELLA_LOG_LEVEL: process.env.STELLA_TEST_LOG_LEVEL ?? 'warn',
  };
}

// Starts `stella worker` and resolves once it polls the task queue.
async function spawnWorker(config: StellaConfig): Promise<ChildProcess> {
  const child = spawn(process.execPath, [path.join(packageRoot(), 'bin', 'stella.js'), 'worker', '--no-migrate'], {
    env: { ...stellaEnv(config), STELLA_LOG_LEVEL: 'info' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let log = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`worker did not start: ${log.slice(-2000)}`)), 120_000);
    child.stderr!.on('data', (chunk: Buffer) => {
      log = (log + chunk.toString()).slice(-8000);
      if (log.includes('Worker started')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`worker exited with ${code}: ${log.slice(-2000)}`));
    });
  });
  child.stderr!.removeAllListeners('data');
  child.stderr!.resume();

  return child;
}

export const FIXTURES = path.join(packageRoot(), 'test', 'fixtures');
export const EVIDENCE = path.join(FIXTURES, 'evidence');
