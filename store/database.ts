import { execFile } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { PrismaBetterSQLite3 } from '@prisma/adapter-better-sqlite3';
import BetterSqlite3 from 'better-sqlite3';
import { PrismaPg } from '@prisma/adapter-pg';
import { PrismaClient as SqliteClient } from '../generated/sqlite/client.js';
import { PrismaClient as PostgresClient } from '../generated/postgres/client.js';
import { isPostgresUrl } from '../platform/config.js';
import { packageRoot } from '../platform/package-root.js';
import { migratePostgres } from './postgres-migrator.js';
import { setDialect } from './sql-dialect.js';

// Both generated clients expose the same model API; the SQLite one's type stands for both.
export type Database = InstanceType<typeof SqliteClient>;

const run = promisify(execFile);

export async function openDatabase(databaseUrl: string): Promise<Database> {
  if (isPostgresUrl(databaseUrl)) {
    const adapter = new PrismaPg({ connectionString: databaseUrl });
    const db = new PostgresClient({ adapter }) as unknown as Database;
    setDialect(db, 'postgres');

    return db;
  }

  mkdirSync(path.dirname(sqlitePath(databaseUrl)), { recursive: true });
  const db = new SqliteClient({ adapter: new PrismaBetterSQLite3({ url: databaseUrl }) });
  // WAL lets the API read while the worker and `stella ingest` write; the busy timeout
  // makes a writer wait for the lock instead of failing.
  await db.$queryRawUnsafe('PRAGMA journal_mode = WAL');
  await db.$queryRawUnsafe('PRAGMA busy_timeout = 10000');
  setDialect(db, 'sqlite', sqlitePath(databaseUrl));

  return db;
}

// Applies pending migrations: `prisma migrate deploy` through the SQLite driver adapter (no
// schema engine download); on PostgreSQL, see postgres-migrator.ts for why it differs.
export async function migrateDatabase(databaseUrl: string): Promise<void> {
  const root = packageRoot();
  if (isPostgresUrl(databaseUrl)) {
    await migratePostgres(databaseUrl, path.join(root, 'prisma', 'postgres', 'migrations'));

    return;
  }
  mkdirSync(path.dirname(sqlitePath(databaseUrl)), { recursive: true });
  // Nothing pending is the common case (every CLI call checks): answer it with one read
  // instead of a migrate run, which would also wait on the running stack's locks.
  if (await sqliteUpToDate(sqlitePath(databaseUrl), path.join(root, 'prisma', 'migrations'))) {
    return;
  }
  const prisma = path.join(root, 'node_modules', 'prisma', 'build', 'index.js');
  await run(process.execPath, [prisma, 'migrate', 'deploy'], {
    cwd: root,
    env: { ...process.env, DATABASE_URL: databaseUrl, PRISMA_HIDE_UPDATE_MESSAGE: '1' },
  });
}

async function sqliteUpToDate(file: string, migrationsDir: string): Promise<boolean> {
  if (!existsSync(file)) {
    return false;
  }
  const wanted = (await readdir(migrationsDir, { withFileTypes: true }))
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name);
  const connection = new BetterSqlite3(file, { readonly: true });
  try {
    const applied = connection
      .prepare(
        `SELECT migration_name FROM _prisma_migrations
         WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL`,
      )
      .pluck()
      .all() as string[];

    return wanted.every((name) => applied.includes(name));
  } catch {
    return false; // no migrations table yet
  } finally {
    connection.close();
  }
}

function sqlitePath(databaseUrl: string): string {
  return databaseUrl.replace(/^file:/, '');
}
