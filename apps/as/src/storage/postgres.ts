import pg from 'pg'
import type { ReplayStore } from '@dauth/protocol'
import type {
  AccountRecord,
  AccountStore,
  ActivateResult,
  ConnectionFilter,
  ConnectionMetadata,
  ConnectionRecord,
  ConnectionStatus,
  ConnectionStore,
  MetaStore,
  ModelPayload,
  OidcModelStore,
  Storage,
} from './types.ts'

const SCHEMA = `
CREATE TABLE IF NOT EXISTS dauth_oidc_models (
  model TEXT NOT NULL, id TEXT NOT NULL, payload JSONB NOT NULL,
  grant_id TEXT, user_code TEXT, uid TEXT, expires_at BIGINT,
  PRIMARY KEY (model, id));
CREATE INDEX IF NOT EXISTS dauth_oidc_models_grant ON dauth_oidc_models (grant_id);
CREATE INDEX IF NOT EXISTS dauth_oidc_models_uid ON dauth_oidc_models (model, uid);
CREATE INDEX IF NOT EXISTS dauth_oidc_models_user_code ON dauth_oidc_models (model, user_code);
CREATE TABLE IF NOT EXISTS dauth_meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS dauth_replay (key TEXT PRIMARY KEY, expires_at BIGINT NOT NULL);
CREATE TABLE IF NOT EXISTS dauth_connections (
  id TEXT PRIMARY KEY, owner_iss TEXT NOT NULL, owner_sub TEXT NOT NULL,
  name TEXT NOT NULL, provider TEXT NOT NULL, status TEXT NOT NULL,
  upload_nonce TEXT NOT NULL, upload_expires_at BIGINT NOT NULL,
  handle TEXT UNIQUE, envelope TEXT, created_at BIGINT NOT NULL);
CREATE INDEX IF NOT EXISTS dauth_connections_owner ON dauth_connections (owner_iss, owner_sub);
CREATE TABLE IF NOT EXISTS dauth_accounts (
  id TEXT PRIMARY KEY, username TEXT NOT NULL UNIQUE, password_hash TEXT NOT NULL);
`
/** Arbitrary constant for the schema-creation advisory lock (several instances may start at once). */
const SCHEMA_LOCK = 715_220_431

type Row = Record<string, unknown>
const nowSeconds = (): number => Math.floor(Date.now() / 1000)

function toConnection(row: Row): ConnectionRecord {
  return {
    id: row.id as string,
    owner: { iss: row.owner_iss as string, sub: row.owner_sub as string },
    name: row.name as string,
    provider: row.provider as string,
    status: row.status as ConnectionStatus,
    uploadNonce: row.upload_nonce as string,
    uploadExpiresAt: Number(row.upload_expires_at),
    handle: typeof row.handle === 'string' ? row.handle : null,
    envelope: typeof row.envelope === 'string' ? row.envelope : null,
    createdAt: Number(row.created_at),
  }
}

/** The columns of {@link ConnectionMetadata}: never `envelope` or `upload_nonce`. */
const METADATA_COLUMNS =
  'id, owner_iss, owner_sub, name, provider, status, upload_expires_at, handle, created_at'

function toMetadata(row: Row): ConnectionMetadata {
  return {
    id: row.id as string,
    owner: { iss: row.owner_iss as string, sub: row.owner_sub as string },
    name: row.name as string,
    provider: row.provider as string,
    status: row.status as ConnectionStatus,
    uploadExpiresAt: Number(row.upload_expires_at),
    handle: typeof row.handle === 'string' ? row.handle : null,
    createdAt: Number(row.created_at),
  }
}

/** `WHERE` clause and parameters of a {@link ConnectionFilter} (`$n` placeholders). */
function filterWhere(filter: ConnectionFilter): { where: string; params: string[] } {
  const clauses: string[] = []
  const params: string[] = []
  const add = (column: string, value: string | undefined): void => {
    if (value === undefined) return
    params.push(value)
    clauses.push(`${column} = $${params.length}`)
  }
  add('id', filter.id)
  add('handle', filter.handle)
  add('owner_sub', filter.ownerSub)
  add('status', filter.status)
  return { where: clauses.length > 0 ? `WHERE ${clauses.join(' AND ')}` : '', params }
}

const toAccount = (row: Row): AccountRecord => ({
  id: row.id as string,
  username: row.username as string,
  passwordHash: row.password_hash as string,
})

/** PostgreSQL storage, selected by `DATABASE_URL` (shared by several AS instances). */
export class PostgresStorage implements Storage {
  readonly kind = 'postgres'
  readonly oidc: OidcModelStore
  readonly meta: MetaStore
  readonly connections: ConnectionStore
  readonly accounts: AccountStore
  readonly replay: ReplayStore
  readonly #pool: pg.Pool

  /** Connects and creates the schema if needed. */
  static async connect(url: string): Promise<PostgresStorage> {
    const pool = new pg.Pool({
      connectionString: url,
      max: 10,
      // Fail closed with an error instead of hanging when PostgreSQL is unreachable.
      connectionTimeoutMillis: 5000,
      query_timeout: 10_000,
    })
    pool.on('error', () => {
      // Idle-client errors surface on the next query; never crash the process.
    })
    const client = await pool.connect().catch(async (error: unknown) => {
      await pool.end()
      throw error
    })
    try {
      await client.query('BEGIN')
      await client.query('SELECT pg_advisory_xact_lock($1)', [SCHEMA_LOCK])
      await client.query(SCHEMA)
      await client.query('COMMIT')
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined)
      client.release()
      await pool.end()
      throw error
    }
    client.release()
    return new PostgresStorage(pool)
  }

  private constructor(pool: pg.Pool) {
    this.#pool = pool
    const q = async (text: string, values: unknown[] = []): Promise<pg.QueryResult<Row>> =>
      pool.query<Row>(text, values)
    const live = '(expires_at IS NULL OR expires_at > $NOW)'
    const payloadOf = (r: pg.QueryResult<Row>): ModelPayload | undefined =>
      r.rows[0]?.payload as ModelPayload | undefined

    this.oidc = {
      upsert: async (model, id, payload, expiresIn) => {
        await q(
          `INSERT INTO dauth_oidc_models (model, id, payload, grant_id, user_code, uid, expires_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7)
           ON CONFLICT (model, id) DO UPDATE SET payload = EXCLUDED.payload, grant_id = EXCLUDED.grant_id,
             user_code = EXCLUDED.user_code, uid = EXCLUDED.uid, expires_at = EXCLUDED.expires_at`,
          [
            model,
            id,
            JSON.stringify(payload),
            typeof payload.grantId === 'string' ? payload.grantId : null,
            typeof payload.userCode === 'string' ? payload.userCode : null,
            typeof payload.uid === 'string' ? payload.uid : null,
            typeof expiresIn === 'number' ? nowSeconds() + expiresIn : null,
          ],
        )
      },
      find: async (model, id) =>
        payloadOf(
          await q(
            `SELECT payload FROM dauth_oidc_models WHERE model = $1 AND id = $2 AND ${live.replace('$NOW', '$3')}`,
            [model, id, nowSeconds()],
          ),
        ),
      findByUid: async (model, uid) =>
        payloadOf(
          await q(
            `SELECT payload FROM dauth_oidc_models WHERE model = $1 AND uid = $2 AND ${live.replace('$NOW', '$3')}`,
            [model, uid, nowSeconds()],
          ),
        ),
      findByUserCode: async (model, userCode) =>
        payloadOf(
          await q(
            `SELECT payload FROM dauth_oidc_models WHERE model = $1 AND user_code = $2 AND ${live.replace('$NOW', '$3')}`,
            [model, userCode, nowSeconds()],
          ),
        ),
      consume: async (model, id) => {
        const result = await q(
          `UPDATE dauth_oidc_models SET payload = jsonb_set(payload, '{consumed}', to_jsonb($1::bigint))
           WHERE model = $2 AND id = $3 AND NOT (payload ? 'consumed')`,
          [nowSeconds(), model, id],
        )
        return result.rowCount === 1
      },
      destroy: async (model, id) => {
        await q('DELETE FROM dauth_oidc_models WHERE model = $1 AND id = $2', [model, id])
      },
      revokeByGrantId: async (grantId) => {
        await q(`DELETE FROM dauth_oidc_models WHERE grant_id = $1 AND model <> 'Grant'`, [grantId])
      },
    }

    this.meta = {
      getOrCreate: async (name, create) => {
        const existing = await q('SELECT value FROM dauth_meta WHERE name = $1', [name])
        if (existing.rows[0]) return existing.rows[0].value as string
        await q(
          'INSERT INTO dauth_meta (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING',
          [name, create()],
        )
        const row = (await q('SELECT value FROM dauth_meta WHERE name = $1', [name])).rows[0]
        if (!row) throw new Error('meta value missing after insert')
        return row.value as string
      },
      replace: async (name, expected, next) =>
        (
          await q('UPDATE dauth_meta SET value = $1 WHERE name = $2 AND value = $3', [
            next,
            name,
            expected,
          ])
        ).rowCount === 1,
    }

    let sweeps = 0
    this.replay = {
      checkAndStore: async (key, expiresAtSeconds) => {
        const now = nowSeconds()
        if (++sweeps % 512 === 0) await q('DELETE FROM dauth_replay WHERE expires_at <= $1', [now])
        const result = await q(
          `INSERT INTO dauth_replay (key, expires_at) VALUES ($1, $2)
           ON CONFLICT (key) DO UPDATE SET expires_at = EXCLUDED.expires_at WHERE dauth_replay.expires_at <= $3`,
          [key, Math.ceil(expiresAtSeconds), now],
        )
        return result.rowCount === 1
      },
    }

    const owned = 'owner_iss = $2 AND owner_sub = $3'
    this.connections = {
      create: async (r) => {
        await q(
          `INSERT INTO dauth_connections (id, owner_iss, owner_sub, name, provider, status, upload_nonce,
             upload_expires_at, handle, envelope, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
          [
            r.id,
            r.owner.iss,
            r.owner.sub,
            r.name,
            r.provider,
            r.status,
            r.uploadNonce,
            r.uploadExpiresAt,
            r.handle,
            r.envelope,
            r.createdAt,
          ],
        )
      },
      findForOwner: async (owner, id) => {
        const row = (
          await q(`SELECT * FROM dauth_connections WHERE id = $1 AND ${owned}`, [
            id,
            owner.iss,
            owner.sub,
          ])
        ).rows[0]
        return row ? toConnection(row) : undefined
      },
      listForOwner: async (owner) =>
        (
          await q(
            'SELECT * FROM dauth_connections WHERE owner_iss = $1 AND owner_sub = $2 ORDER BY created_at, id',
            [owner.iss, owner.sub],
          )
        ).rows.map(toConnection),
      activate: async (owner, id, envelope, handle, now): Promise<ActivateResult> => {
        const client = await pool.connect()
        try {
          await client.query('BEGIN')
          const row = (
            await client.query<Row>(
              `SELECT * FROM dauth_connections WHERE id = $1 AND ${owned} FOR UPDATE`,
              [id, owner.iss, owner.sub],
            )
          ).rows[0]
          let result: ActivateResult
          if (!row) result = { ok: false, reason: 'not_found' }
          else {
            const record = toConnection(row)
            if (record.status !== 'pending') result = { ok: false, reason: 'not_pending' }
            else if (record.uploadExpiresAt <= now) result = { ok: false, reason: 'upload_expired' }
            else {
              await client.query(
                `UPDATE dauth_connections SET status = 'revoked'
                 WHERE owner_iss = $1 AND owner_sub = $2 AND name = $3 AND status = 'active'`,
                [owner.iss, owner.sub, record.name],
              )
              await client.query(
                `UPDATE dauth_connections SET status = 'active', envelope = $1, handle = $2 WHERE id = $3`,
                [envelope, handle, id],
              )
              result = { ok: true, record: { ...record, status: 'active', envelope, handle } }
            }
          }
          await client.query('COMMIT')
          return result
        } catch (error) {
          await client.query('ROLLBACK').catch(() => undefined)
          throw error
        } finally {
          client.release()
        }
      },
      revoke: async (owner, id) =>
        (
          await q(`UPDATE dauth_connections SET status = 'revoked' WHERE id = $1 AND ${owned}`, [
            id,
            owner.iss,
            owner.sub,
          ])
        ).rowCount === 1,
      findActiveByHandle: async (handle) => {
        const row = (
          await q(`SELECT * FROM dauth_connections WHERE handle = $1 AND status = 'active'`, [
            handle,
          ])
        ).rows[0]
        return row ? toConnection(row) : undefined
      },
      activeHandles: async (owner, names) => {
        const out: Record<string, string> = {}
        if (names.length === 0) return out
        const rows = (
          await q(
            `SELECT name, handle FROM dauth_connections
             WHERE owner_iss = $1 AND owner_sub = $2 AND status = 'active' AND name = ANY($3::text[])`,
            [owner.iss, owner.sub, [...names]],
          )
        ).rows
        for (const row of rows) out[row.name as string] = row.handle as string
        return out
      },
      listMetadata: async (filter) => {
        const { where, params } = filterWhere(filter)
        const { rows } = await q(
          `SELECT ${METADATA_COLUMNS} FROM dauth_connections ${where} ORDER BY created_at, id`,
          params,
        )
        return rows.map(toMetadata)
      },
    }

    this.accounts = {
      findByUsername: async (username) => {
        const row = (await q('SELECT * FROM dauth_accounts WHERE username = $1', [username]))
          .rows[0]
        return row ? toAccount(row) : undefined
      },
      findById: async (id) => {
        const row = (await q('SELECT * FROM dauth_accounts WHERE id = $1', [id])).rows[0]
        return row ? toAccount(row) : undefined
      },
      create: async (r) =>
        (
          await q(
            'INSERT INTO dauth_accounts (id, username, password_hash) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING',
            [r.id, r.username, r.passwordHash],
          )
        ).rowCount === 1,
    }
  }

  async close(): Promise<void> {
    await this.#pool.end()
  }
}
