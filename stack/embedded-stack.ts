import path from 'node:path';
import type { StellaConfig } from '../platform/config.js';
import type { Logger } from '../platform/logger.js';
import { migrateDatabase } from '../store/database.js';
import { startDevServer, type DevServer } from '../temporal-dev/dev-server.js';
import { ensureTemporalCli } from '../temporal-dev/temporal-cli.js';
import { startWorker } from '../worker/run-worker.js';
import { startApiServer, type RunningApi } from './api-server.js';

export interface EmbeddedStack {
  config: StellaConfig;
  api: RunningApi;
  temporal: DevServer;
  stop(): Promise<void>;
}

export interface EmbeddedStackOptions {
  temporalPort?: number; // default: a free port
  uiPort?: number;
}

// The whole export center in one process tree: a Temporal dev server (SQLite under the
// data folder), the database migrated, one worker and the API.
export async function startEmbeddedStack(
  config: StellaConfig,
  logger: Logger,
  options: EmbeddedStackOptions = {},
): Promise<EmbeddedStack> {
  // Shown even at the demo's quiet log level: a first build takes minutes.
  const cli = await ensureTemporalCli((message) => logger.warn(message));
  if (!cli) {
    throw new Error('no Temporal CLI: set TEMPORAL_CLI or install Go so that it can be built');
  }
  const temporal = await startDevServer({
    cli,
    dbFile: path.join(config.dataDir, 'temporal.db'),
    port: options.temporalPort,
    uiPort: options.uiPort,
  });
  logger.info({ address: temporal.address }, 'Temporal dev server started');

  const stackConfig = { ...config, temporalAddress: temporal.address };
  await migrateDatabase(stackConfig.databaseUrl);
  const worker = await startWorker(stackConfig, logger);
  const api = await startApiServer(stackConfig, logger);

  const stop = async () => {
    await api.close();
    // A signal may already have started the drain (the Temporal runtime listens for them).
    if (worker.worker.getState() === 'RUNNING') {
      worker.worker.shutdown();
    }
    await worker.done;
    await temporal.stop();
  };

  return { config: { ...stackConfig, apiUrl: api.url }, api, temporal, stop };
}
