import type { Server } from 'node:http';
import { createApp } from '../api/app.js';
import type { StellaConfig } from '../platform/config.js';
import type { Logger } from '../platform/logger.js';
import { connectTemporal } from '../platform/temporal.js';
import { openDatabase } from '../store/database.js';

export interface RunningApi {
  url: string;
  close(): Promise<void>;
}

export async function startApiServer(config: StellaConfig, logger: Logger): Promise<RunningApi> {
  const db = await openDatabase(config.databaseUrl);
  const temporal = await connectTemporal(config);
  const app = createApp({ db, temporal: temporal.client, config, logger });
  const server = await listen(app, config.apiHost, config.apiPort);
  const { port } = server.address() as { port: number };
  const url = `http://${config.apiHost}:${port}`;
  logger.info({ url }, 'API listening');

  return {
    url,
    close: async () => {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await temporal.close();
      await db.$disconnect();
    },
  };
}

function listen(app: ReturnType<typeof createApp>, host: string, port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = app.listen(port, host, (err?: Error) => (err ? reject(err) : resolve(server)));
  });
}
