import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { chownSync, mkdtempSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { removeQuietly } from '../../bundle/files.js';
import { freePort, stopProcess } from '../../temporal-dev/dev-server.js';

const run = promisify(execFile);

export interface PostgresServer {
  url: string;
  stop(): Promise<void>;
}

// A throwaway PostgreSQL cluster (Debian's postgresql package) on 127.0.0.1 and a free
// port, trust authentication, removed on stop(). As root it runs as the postgres user.
export async function startPostgres(): Promise<PostgresServer | { reason: string }> {
  const bin = await postgresBin();
  if (!bin) {
    return { reason: 'PostgreSQL server binaries not found (apt-get install postgresql)' };
  }
  const dir = mkdtempSync(path.join(os.tmpdir(), 'stella-pg-'));
  const asRoot = process.getuid?.() === 0;
  const owner = asRoot ? await postgresUid() : undefined;
  if (owner) {
    chownSync(dir, owner.uid, owner.gid);
  }
  const wrap = (cmd: string, args: string[]) => (owner ? ['runuser', ['-u', 'postgres', '--', cmd, ...args]] as const : [cmd, args] as const);

  const [initCmd, initArgs] = wrap(path.join(bin, 'initdb'), ['-D', path.join(dir, 'data'), '-A', 'trust', '-U', 'stella', '--no-sync']);
  await run(initCmd, [...initArgs]);
  const port = await freePort();
  const [cmd, args] = wrap(path.join(bin, 'postgres'), ['-D', path.join(dir, 'data'), '-p', String(port), '-k', dir, '-c', 'listen_addresses=127.0.0.1', '-c', 'fsync=off']);
  const server: ChildProcess = spawn(cmd, [...args], { stdio: 'ignore' });
  const url = `postgresql://stella@127.0.0.1:${port}/postgres`;
  await waitForPostgres(port);

  return {
    url,
    stop: async () => {
      await stopProcess(server, 10_000);
      await removeQuietly(dir);
    },
  };
}

async function postgresBin(): Promise<string | undefined> {
  const root = '/usr/lib/postgresql';
  const versions = await readdir(root).catch(() => [] as string[]);
  const newest = versions.sort((a, b) => Number(b) - Number(a))[0];

  return newest ? path.join(root, newest, 'bin') : undefined;
}

async function postgresUid(): Promise<{ uid: number; gid: number } | undefined> {
  try {
    const { stdout } = await run('id', ['-u', 'postgres']);
    const { stdout: gid } = await run('id', ['-g', 'postgres']);

    return { uid: Number(stdout.trim()), gid: Number(gid.trim()) };
  } catch {
    return undefined;
  }
}

async function waitForPostgres(port: number) {
  const { default: pg } = await import('pg');
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    const client = new pg.Client({ host: '127.0.0.1', port, user: 'stella', database: 'postgres' });
    try {
      await client.connect();
      await client.end();

      return;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
  throw new Error(`PostgreSQL did not accept connections on ${port}`);
}
