import { Prisma } from '../generated/sqlite/client.js';
import type { Database } from './database.js';

// The few places where hot paths use SQL directly (planning a snapshot, streaming records)
// differ between SQLite and PostgreSQL only in what this module hides.
export type Dialect = 'sqlite' | 'postgres';

const dialects = new WeakMap<object, Dialect>();
const sqliteFiles = new WeakMap<object, string>();

export function setDialect(db: Database, dialect: Dialect, sqliteFile?: string): void {
  dialects.set(db, dialect);
  if (sqliteFile) {
    sqliteFiles.set(db, sqliteFile);
  }
}

// The SQLite file behind a client, for the read paths that stream rows straight from the
// driver (see store/export-records.ts).
export function sqliteFileOf(db: Database): string | undefined {
  return sqliteFiles.get(db);
}

export function dialectOf(db: Database): Dialect {
  return dialects.get(db) ?? 'sqlite';
}

export const sql = Prisma.sql;
export const join = Prisma.join;
export const empty = Prisma.empty;
export const raw = Prisma.raw;
export type Sql = Prisma.Sql;

// Byte order for text, so that both databases order records the same way and bundles made
// from either are identical.
export function byteOrder(dialect: Dialect): Sql {
  return dialect === 'postgres' ? raw(' COLLATE "C"') : empty;
}

// Prisma keeps SQLite DateTime values as ISO text with a +00:00 offset; compare like for like.
export function timestampParam(dialect: Dialect, value: string): Date | string {
  const date = new Date(value);

  return dialect === 'postgres' ? date : date.toISOString().replace('Z', '+00:00');
}

export function containsText(dialect: Dialect, column: Sql, needle: string): Sql {
  return dialect === 'postgres' ? sql`strpos(${column}, ${needle}) > 0` : sql`instr(${column}, ${needle}) > 0`;
}

export function inList(column: Sql, values: string[]): Sql {
  return sql`${column} IN (${join(values)})`;
}

export function and(conditions: (Sql | undefined)[]): Sql {
  const present = conditions.filter((c): c is Sql => c !== undefined);

  return present.length ? sql`${join(present, ' AND ')}` : sql`1 = 1`;
}
