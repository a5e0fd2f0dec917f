import type { Command } from 'commander';
import { loadConfig } from '../../platform/config.js';
import { createLogger } from '../../platform/logger.js';
import { migrateDatabase } from '../../store/database.js';
import { startApiServer } from '../../stack/api-server.js';
import { startEmbeddedStack } from '../../stack/embedded-stack.js';
import { ensureTemporalCli } from '../../temporal-dev/temporal-cli.js';
import { startDevServer } from '../../temporal-dev/dev-server.js';
import { startWorker } from '../../worker/run-worker.js';
import path from 'node:path';

// Long-running roles: each keeps running until SIGINT or SIGTERM, then stops cleanly.
export function registerProcessCommands(program: Command): void {
  program
    .command('api')
    .description('Run the HTTP API (STELLA_API_HOST/PORT, TEMPORAL_ADDRESS, DATABASE_URL)')
    .option('--no-migrate', 'do not apply database migrations at start-up')
    .action(async (options: { migrate: boolean }) => {
      const config = loadConfig();
      const logger = createLogger('stella-api');
      if (options.migrate) {
        await migrateDatabase(config.databaseUrl);
      }
      const api = await startApiServer(config, logger);
      await untilSignal();
      await api.close();
    });

  program
    .command('worker')
    .description('Run a worker on the export task queue (TEMPORAL_ADDRESS, DATABASE_URL)')
    .option('--no-migrate', 'do not apply database migrations at start-up')
    .action(async (options: { migrate: boolean }) => {
      const config = loadConfig();
      const logger = createLogger('stella-worker');
      if (options.migrate) {
        await migrateDatabase(config.databaseUrl);
      }
      const running = await startWorker(config, logger);
      // The Temporal runtime drains the worker itself on SIGINT and SIGTERM.
      await running.done;
    });

  program
    .command('temporal-dev')
    .description('Run the Temporal dev server on 127.0.0.1:7233 with SQLite under the data folder')
    .option('--port <port>', 'frontend port', '7233')
    .option('--ui-port <port>', 'web UI port', '8233')
    .action(async (options: { port: string; uiPort: string }) => {
      const config = loadConfig();
      const logger = createLogger('stella-temporal-dev');
      const cli = await ensureTemporalCli((message) => logger.info(message));
      if (!cli) {
        throw new Error('no Temporal CLI found and none could be built (install Go, or set TEMPORAL_CLI)');
      }
      const server = await startDevServer({
        cli,
        dbFile: path.join(config.dataDir, 'temporal.db'),
        port: Number(options.port),
        uiPort: Number(options.uiPort),
      });
      logger.info({ address: server.address, ui: `http://127.0.0.1:${options.uiPort}` }, 'Temporal dev server running');
      await untilSignal();
      await server.stop();
    });

  program
    .command('dev')
    .description('Run the whole embedded stack (Temporal dev server, worker, API) until interrupted')
    .action(async () => {
      const logger = createLogger('stella-dev');
      const config = loadConfig();
      // The dev stack serves Temporal where the other commands look for it (TEMPORAL_ADDRESS).
      const temporalPort = Number(config.temporalAddress.split(':').pop()) || 7233;
      const uiPort = Number(process.env.STELLA_TEMPORAL_UI_PORT ?? 8233);
      const stack = await startEmbeddedStack(config, logger, { temporalPort, uiPort });
      process.stderr.write(`Stella Export Center is up: API ${stack.api.url}, Temporal ${stack.temporal.address}. Ctrl-C stops it.\n`);
      await untilSignal();
      await stack.stop();
    });
}

export function untilSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const handler = (signal: NodeJS.Signals) => {
      process.off('SIGINT', handler);
      process.off('SIGTERM', handler);
      resolve(signal);
    };
    process.on('SIGINT', handler);
    process.on('SIGTERM', handler);
  });
}
