/**
 * PostgreSQL schema migrations: the `NNNN_name.sql` files of `apps/as/migrations/postgres/`,
 * applied in name order. Each file records its own version in `dauth_schema_migrations` (its
 * last statement), so a file an operator applied with `psql` counts as applied here too.
 *
 * Why versions and not "CREATE … IF NOT EXISTS on every start": PostgreSQL checks the right
 * to create in the schema before it looks whether the table exists, so a role that may only
 * read and write fails even on a no-op `CREATE TABLE IF NOT EXISTS`. With every version
 * recorded, start-up runs no DDL at all.
 *
 * @module
 */
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import type pg from 'pg'

/** Where the migration files live (shipped with the AS, beside `src/`). */
export const MIGRATIONS_DIR = join(import.meta.dirname, '..', '..', 'migrations', 'postgres')

const FILE = /^(\d{4}_[a-z0-9_]+)\.sql$/

/** One migration: its version (the file name without `.sql`) and its SQL. */
export interface Migration {
  version: string
  sql: string
}

/** The migration files, in the order they apply. */
export function loadMigrations(dir = MIGRATIONS_DIR): Migration[] {
  return readdirSync(dir)
    .map((name) => FILE.exec(name))
    .filter((match): match is RegExpExecArray => match !== null)
    .map((match) => ({
      version: match[1] as string,
      sql: readFileSync(join(dir, match[0]), 'utf8'),
    }))
    .sort((a, b) => (a.version < b.version ? -1 : 1))
}

/** A migration PostgreSQL refused: names the file and what to do, never a connection string. */
export class MigrationError extends Error {
  override readonly name = 'MigrationError'
  /** The migration that failed (file name without `.sql`). */
  readonly version: string
  constructor(version: string, cause: unknown) {
    const reason = cause instanceof Error ? cause.message : String(cause)
    super(
      `PostgreSQL schema migration ${version} could not be applied (${reason}): apply ` +
        `apps/as/migrations/postgres/${version}.sql with a role that may create tables ` +
        '(docs/operations.md, "Migrations"), or start the AS once with such a role',
    )
    this.version = version
  }
}

/**
 * Applies the migrations not yet recorded, inside the caller's transaction (which must hold
 * the schema advisory lock, so that two instances starting at once never both apply one).
 * Resolves the versions it applied (empty when the schema was current: no DDL was run).
 */
export async function applyMigrations(
  client: pg.ClientBase,
  migrations: readonly Migration[] = loadMigrations(),
): Promise<string[]> {
  const table = await client.query<{ present: boolean }>(
    "SELECT to_regclass('dauth_schema_migrations') IS NOT NULL AS present",
  )
  const recorded = new Set<string>()
  if (table.rows[0]?.present === true) {
    const rows = await client.query<{ version: string }>(
      'SELECT version FROM dauth_schema_migrations',
    )
    for (const row of rows.rows) recorded.add(row.version)
  }
  const applied: string[] = []
  for (const migration of migrations) {
    if (recorded.has(migration.version)) continue
    try {
      await client.query(migration.sql)
    } catch (error) {
      throw new MigrationError(migration.version, error)
    }
    applied.push(migration.version)
  }
  return applied
}
