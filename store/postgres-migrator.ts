import { createHash, randomUUID } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import pg from 'pg';

// Applies prisma/postgres/migrations/*/migration.sql in order, each in its own transaction,
// recording them in `_prisma_migrations` exactly as `prisma migrate deploy` does (so either
// tool sees the other's work).
//
// Why not `prisma migrate deploy`: through @prisma/adapter-pg, Prisma 6.19's WebAssembly
// schema engine fails on PostgreSQL with "Column type 'name' could not be deserialized from
// the database" (prisma/prisma#27403, open). Remove this module and call migrate deploy for
// both databases once a Prisma release fixes that issue.
export async function migratePostgres(databaseUrl: string, migrationsDir: string): Promise<string[]> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    // One migrator at a time across processes (API and workers starting together).
    await client.query('SELECT pg_advisory_lock(7745213001)');
    await ensureMigrationsTable(client);
    const applied = await appliedMigrations(client);
    const pending = (await migrationNames(migrationsDir)).filter((name) => !applied.has(name));
    for (const name of pending) {
      await applyMigration(client, name, await readFile(path.join(migrationsDir, name, 'migration.sql'), 'utf8'));
    }

    return pending;
  } finally {
    await client.query('SELECT pg_advisory_unlock(7745213001)').catch(() => undefined);
    await client.end();
  }
}

async function ensureMigrationsTable(client: pg.Client) {
  await client.query(`CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
    "id" VARCHAR(36) PRIMARY KEY NOT NULL,
    "checksum" VARCHAR(64) NOT NULL,
    "finished_at" TIMESTAMPTZ,
    "migration_name" VARCHAR(255) NOT NULL,
    "logs" TEXT,
    "rolled_back_at" TIMESTAMPTZ,
    "started_at" TIMESTAMPTZ NOT NULL DEFAULT now(),
    "applied_steps_count" INTEGER NOT NULL DEFAULT 0)`);
}

async function appliedMigrations(client: pg.Client): Promise<Set<string>> {
  const { rows } = await client.query<{ migration_name: string }>(
    `SELECT "migration_name" FROM "_prisma_migrations"
     WHERE "finished_at" IS NOT NULL AND "rolled_back_at" IS NULL`,
  );

  return new Set(rows.map((row) => row.migration_name));
}

async function migrationNames(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });

  return entries.filter((e) => e.isDirectory()).map((e) => e.name).sort();
}

async function applyMigration(client: pg.Client, name: string, script: string) {
  const checksum = createHash('sha256').update(script).digest('hex');
  await client.query('BEGIN');
  try {
    await client.query(script);
    await client.query(
      `INSERT INTO "_prisma_migrations" ("id", "checksum", "finished_at", "migration_name", "applied_steps_count")
       VALUES ($1, $2, now(), $3, 1)`,
      [randomUUID(), checksum, name],
    );
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK');
    throw err;
  }
}
