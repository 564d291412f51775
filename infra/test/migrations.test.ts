import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { after, before, describe, it } from 'node:test'
import pg from 'pg'
import { PostgresStorage } from '../../apps/as/src/storage/postgres.ts'

/**
 * infra/migrations/postgres/0001_init.sql must create exactly the schema the AS creates on
 * start: one fresh database gets the file, another gets the AS's own start-up DDL, and their
 * catalogues must match (columns, constraints, indexes). Both databases are this test's own.
 */
const ADMIN_URL =
  process.env.DAUTH_TEST_POSTGRES_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres'
const MIGRATION = new URL('../migrations/postgres/0001_init.sql', import.meta.url)

async function admin<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: ADMIN_URL, connectionTimeoutMillis: 2000 })
  await client.connect()
  try {
    return await work(client)
  } finally {
    await client.end()
  }
}

const available = await admin(() => Promise.resolve(true)).catch(() => false)

function databaseUrl(name: string): string {
  const url = new URL(ADMIN_URL)
  url.pathname = `/${name}`
  return url.href
}

/** The parts of a database's catalogue a schema consists of, as sorted plain rows. */
async function catalogue(url: string): Promise<Record<string, unknown[]>> {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    const rows = async (sql: string) => (await client.query(sql)).rows
    return {
      tables: await rows(`SELECT table_name FROM information_schema.tables
        WHERE table_schema = 'public' ORDER BY table_name`),
      columns: await rows(`SELECT table_name, column_name, ordinal_position, data_type,
          is_nullable, column_default, character_maximum_length
        FROM information_schema.columns WHERE table_schema = 'public'
        ORDER BY table_name, ordinal_position`),
      constraints: await rows(`SELECT tc.table_name, tc.constraint_name, tc.constraint_type,
          string_agg(kcu.column_name, ',' ORDER BY kcu.ordinal_position) AS columns
        FROM information_schema.table_constraints tc
        LEFT JOIN information_schema.key_column_usage kcu
          ON kcu.constraint_name = tc.constraint_name AND kcu.table_schema = tc.table_schema
        WHERE tc.table_schema = 'public' AND tc.constraint_type <> 'CHECK'
        GROUP BY tc.table_name, tc.constraint_name, tc.constraint_type
        ORDER BY tc.table_name, tc.constraint_name`),
      indexes: await rows(`SELECT tablename, indexname, indexdef FROM pg_indexes
        WHERE schemaname = 'public' ORDER BY tablename, indexname`),
    }
  } finally {
    await client.end()
  }
}

describe('PostgreSQL migrations', {
  skip: available ? false : `no PostgreSQL at ${new URL(ADMIN_URL).host}`,
}, () => {
  const suffix = randomBytes(6).toString('hex')
  const fromFile = `dauth_migration_file_${suffix}`
  const fromAs = `dauth_migration_as_${suffix}`

  before(async () => {
    await admin(async (client) => {
      await client.query(`CREATE DATABASE ${fromFile}`)
      await client.query(`CREATE DATABASE ${fromAs}`)
    })
  })
  after(async () => {
    await admin(async (client) => {
      await client.query(`DROP DATABASE IF EXISTS ${fromFile} WITH (FORCE)`)
      await client.query(`DROP DATABASE IF EXISTS ${fromAs} WITH (FORCE)`)
    })
  })

  it('0001_init.sql creates exactly the schema the AS creates on start', async () => {
    const sql = await readFile(MIGRATION, 'utf8')
    const client = new pg.Client({ connectionString: databaseUrl(fromFile) })
    await client.connect()
    try {
      await client.query('BEGIN')
      await client.query(sql)
      await client.query('COMMIT')
    } finally {
      await client.end()
    }
    const storage = await PostgresStorage.connect(databaseUrl(fromAs))
    await storage.close()

    const file = await catalogue(databaseUrl(fromFile))
    const as = await catalogue(databaseUrl(fromAs))
    assert.deepEqual(file, as)
    // The comparison is only as good as what it compares: the AS's five tables are there.
    assert.deepEqual(
      file.tables?.map((row) => (row as { table_name: string }).table_name),
      ['dauth_accounts', 'dauth_connections', 'dauth_meta', 'dauth_oidc_models', 'dauth_replay'],
    )
    assert.equal(file.indexes?.length, 11)
  })

  it('the AS starts on a database the file already migrated (the file is its schema)', async () => {
    // Every statement is IF NOT EXISTS on both sides: the AS's start-up DDL is a no-op here.
    const storage = await PostgresStorage.connect(databaseUrl(fromFile))
    await storage.close()
    assert.deepEqual(await catalogue(databaseUrl(fromFile)), await catalogue(databaseUrl(fromAs)))
  })
})
