import path from 'node:path';

// Every knob the processes read, resolved once. Defaults give the embedded stack: SQLite and
// bundles under .data/, Temporal and the API on loopback.
export interface StellaConfig {
  dataDir: string;
  databaseUrl: string;
  exportsDir: string;
  keysDir: string;
  temporalAddress: string;
  temporalNamespace: string;
  taskQueue: string;
  apiHost: string;
  apiPort: number;
  apiUrl: string;
  logLevel: string;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): StellaConfig {
  const dataDir = path.resolve(env.STELLA_DATA_DIR ?? '.data');
  const apiHost = env.STELLA_API_HOST ?? '127.0.0.1';
  const apiPort = Number(env.STELLA_API_PORT ?? 8080);

  return {
    dataDir,
    databaseUrl: env.DATABASE_URL ?? `file:${path.join(dataDir, 'stella.db')}`,
    exportsDir: path.resolve(env.STELLA_EXPORTS_DIR ?? path.join(dataDir, 'exports')),
    keysDir: path.resolve(env.STELLA_KEYS_DIR ?? path.join(dataDir, 'keys')),
    temporalAddress: env.TEMPORAL_ADDRESS ?? '127.0.0.1:7233',
    temporalNamespace: env.TEMPORAL_NAMESPACE ?? 'default',
    taskQueue: env.STELLA_TASK_QUEUE ?? 'stella-export',
    apiHost,
    apiPort,
    apiUrl: env.STELLA_API_URL ?? `http://${apiHost}:${apiPort}`,
    logLevel: env.STELLA_LOG_LEVEL ?? 'info',
  };
}

export function isPostgresUrl(url: string): boolean {
  return /^postgres(ql)?:\/\//.test(url);
}
