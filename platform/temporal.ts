import { Client, Connection } from '@temporalio/client';
import type { StellaConfig } from './config.js';

export interface TemporalHandle {
  client: Client;
  close(): Promise<void>;
}

export async function connectTemporal(
  config: StellaConfig,
  options: { connectTimeoutMs?: number } = {},
): Promise<TemporalHandle> {
  const connection = await Connection.connect({
    address: config.temporalAddress,
    connectTimeout: options.connectTimeoutMs,
  });
  const client = new Client({ connection, namespace: config.temporalNamespace });

  return { client, close: () => connection.close() };
}
