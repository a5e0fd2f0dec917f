import type { Server } from 'node:http';
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import type { Express } from 'express';
import { createApp } from '../../api/app.js';
import { localKeyDir } from '../../api/auth/auth-config.js';
import { ensureLocalIssuerKey, mintLocalToken } from '../../api/auth/local-issuer.js';
import type { Role } from '../../api/auth/roles.js';
import { removeQuietly } from '../../bundle/files.js';
import { StellaError } from '../../domain/errors.js';
import { loadConfig, type StellaConfig } from '../../platform/config.js';
import { createLogger } from '../../platform/logger.js';
import { migrateDatabase, openDatabase, type Database } from '../../store/database.js';

export interface SecurityApp {
  url: string;
  db: Database;
  config: StellaConfig;
  token(tenant: string, roles: Role[]): Promise<string>;
  call(
    method: string,
    path: string,
    init?: { token?: string; headers?: Record<string, string>; body?: string },
  ): Promise<CallResult>;
  stop(): Promise<void>;
}

export interface CallResult {
  status: number;
  headers: Headers;
  text: string;
  body: ErrorShape & Record<string, unknown>;
}

interface ErrorShape {
  error_class?: string;
  message?: string;
  details?: { reason?: string; requiredRole?: string };
}

// The real API (route table, access layer, routes, store) on a fresh SQLite store, without
// Temporal: the security suite checks who may reach a handler and what it answers, and no
// request in it needs to start a workflow. Any use of Temporal answers `unavailable`.
export async function startSecurityApp(): Promise<SecurityApp> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'stella-sec-'));
  const config = { ...loadConfig({ STELLA_DATA_DIR: dataDir }), apiPort: 0 };
  await migrateDatabase(config.databaseUrl);
  const db = await openDatabase(config.databaseUrl);
  const logger = createLogger('stella-security-test', 'silent');
  const app = createApp({ db, temporal: noTemporal(), config, logger });
  const server = await listen(app);
  const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  const key = ensureLocalIssuerKey(localKeyDir(dataDir));

  return {
    url,
    db,
    config,
    token: (tenant, roles) =>
      mintLocalToken(key, { tenant, roles, subject: `${tenant}-user`, ttlSeconds: 600 }),
    call: (method, target, init = {}) => call(url, method, target, init),
    stop: async () => {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await db.$disconnect();
      await removeQuietly(dataDir);
    },
  };
}

async function call(
  url: string,
  method: string,
  target: string,
  init: { token?: string; headers?: Record<string, string>; body?: string },
): Promise<CallResult> {
  const headers: Record<string, string> = { ...init.headers };
  if (init.token) headers.authorization = `Bearer ${init.token}`;
  if (init.body !== undefined) headers['content-type'] ??= 'application/json';
  const response = await fetch(`${url}${target}`, { method, headers, body: init.body });
  const text = await response.text();
  let body: CallResult['body'] = {};
  try {
    body = JSON.parse(text) as CallResult['body'];
  } catch {
    // Not JSON (a download, an empty answer): the text is there.
  }

  return { status: response.status, headers: response.headers, text, body };
}

function noTemporal(): Client {
  return new Proxy({} as Client, {
    get: () => {
      throw new StellaError('unavailable', 'no Temporal in the security suite');
    },
  });
}

function listen(app: Express): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = app.listen(0, '127.0.0.1', (err?: Error) =>
      err ? reject(err) : resolve(server),
    );
  });
}
