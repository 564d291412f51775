// PostgreSQL schema migrations (src/storage/migrations.ts) against real, throw-away databases
// and a throw-away role: versions recorded once, no DDL when current (so a role that may only
// read and write can run the AS), a clear refusal when it is not, adoption of databases made
// before versions existed, and two instances starting at once.
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { after, before, describe, test } from 'node:test'
import pg from 'pg'
import { applyMigrations, loadMigrations, MigrationError } from '../src/storage/migrations.ts'
import { PostgresStorage } from '../src/storage/postgres.ts'
import { createDatabase, postgresAvailable } from './helpers/backends.ts'

const available = await postgresAvailable()

async function withClient<T>(url: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    return await work(client)
  } finally {
    await client.end()
  }
}

const versions = (url: string): Promise<string[]> =>
  withClient(url, async (c) =>
    (
      await c.query<{ version: string }>('SELECT version FROM dauth_schema_migrations ORDER BY 1')
    ).rows.map((r) => r.version),
  )

/** What `psql -v ON_ERROR_STOP=1 -1 -f <file>` does with each file, in order. */
const applyAsOperator = (url: string): Promise<void> =>
  withClient(url, async (c) => {
    for (const { sql } of loadMigrations()) {
      await c.query('BEGIN')
      await c.query(sql)
      await c.query('COMMIT')
    }
  })

describe('PostgreSQL schema migrations', { skip: !available && 'PostgreSQL not reachable' }, () => {
  const drops: (() => Promise<void>)[] = []
  after(async () => {
    for (const drop of drops.reverse()) await drop()
  })
  const database = async (): Promise<string> => {
    const db = await createDatabase()
    drops.push(() => db.drop())
    return db.url
  }

  test('the migration files: four-digit versions in order, each recording itself', () => {
    const migrations = loadMigrations()
    assert.deepEqual(
      migrations.map((m) => m.version),
      ['0001_init'],
    )
    for (const { version, sql } of migrations) {
      assert.match(sql, new RegExp(`VALUES \\('${version}',`), `${version} records itself`)
    }
  })

  test('a fresh database: applied once and recorded; a current schema runs no DDL', async () => {
    const url = await database()
    const first = await PostgresStorage.connect(url)
    await first.close()
    assert.deepEqual(await versions(url), ['0001_init'])
    const again = await withClient(url, async (c) => {
      await c.query('BEGIN')
      const applied = await applyMigrations(c)
      await c.query('ROLLBACK')
      return applied
    })
    assert.deepEqual(again, [])
  })

  describe('a role that may only read and write', () => {
    const role = `dauth_rw_${randomBytes(5).toString('hex')}`
    let admin: string
    before(async () => {
      admin = await database()
      await withClient(admin, async (c) => {
        await c.query(`CREATE ROLE ${role} LOGIN`)
        await c.query('REVOKE CREATE ON SCHEMA public FROM PUBLIC')
      })
    })
    after(async () => {
      // The database goes first (with the grants inside it), then the role.
      await drops.pop()?.()
      await withClient('postgres://postgres@127.0.0.1:5432/postgres', (c) =>
        c.query(`DROP ROLE IF EXISTS ${role}`),
      )
    })
    const asRole = (): string => {
      const url = new URL(admin)
      url.username = role
      return url.href
    }

    test('on a database nobody migrated: a clear refusal naming the file and the fix', async () => {
      await assert.rejects(PostgresStorage.connect(asRole()), (error: unknown) => {
        assert.ok(error instanceof MigrationError)
        assert.equal(error.version, '0001_init')
        assert.equal(
          error.message,
          'PostgreSQL schema migration 0001_init could not be applied (permission denied for schema public): ' +
            'apply apps/as/migrations/postgres/0001_init.sql with a role that may create tables ' +
            '(docs/operations.md, "Migrations"), or start the AS once with such a role',
        )
        return true
      })
    })

    test('after an operator applied the files: the AS starts and works without DDL rights', async () => {
      await applyAsOperator(admin)
      await withClient(admin, (c) =>
        c.query(`GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO ${role}`),
      )
      const storage = await PostgresStorage.connect(asRole())
      try {
        assert.equal(await storage.meta.getOrCreate('probe', () => 'stored'), 'stored')
        assert.equal(await storage.meta.getOrCreate('probe', () => 'other'), 'stored')
      } finally {
        await storage.close()
      }
    })
  })

  test('a database the AS made before versions existed adopts 0001_init, keeping its rows', async () => {
    const url = await database()
    await applyAsOperator(url)
    await withClient(url, async (c) => {
      await c.query('DROP TABLE dauth_schema_migrations')
      await c.query("INSERT INTO dauth_meta (name, value) VALUES ('kept', 'yes')")
    })
    const storage = await PostgresStorage.connect(url)
    try {
      assert.equal(await storage.meta.getOrCreate('kept', () => 'lost'), 'yes')
    } finally {
      await storage.close()
    }
    assert.deepEqual(await versions(url), ['0001_init'])
  })

  test('two instances starting at once: both start, the migration is recorded once', async () => {
    const url = await database()
    const both = await Promise.all([PostgresStorage.connect(url), PostgresStorage.connect(url)])
    await Promise.all(both.map((s) => s.close()))
    assert.deepEqual(await versions(url), ['0001_init'])
  })
})
