import { chmodSync, closeSync, openSync } from 'node:fs'
import { DatabaseSync } from 'node:sqlite'
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
  Owner,
  Storage,
} from './types.ts'

const SCHEMA = `
CREATE TABLE IF NOT EXISTS oidc_models (
  model TEXT NOT NULL, id TEXT NOT NULL, payload TEXT NOT NULL,
  grant_id TEXT, user_code TEXT, uid TEXT, expires_at INTEGER,
  PRIMARY KEY (model, id));
CREATE INDEX IF NOT EXISTS oidc_models_grant ON oidc_models (grant_id);
CREATE INDEX IF NOT EXISTS oidc_models_uid ON oidc_models (model, uid);
CREATE INDEX IF NOT EXISTS oidc_models_user_code ON oidc_models (model, user_code);
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS replay (key TEXT PRIMARY KEY, expires_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS connections (
  id TEXT PRIMARY KEY, owner_iss TEXT NOT NULL, owner_sub TEXT NOT NULL,
  name TEXT NOT NULL, provider TEXT NOT NULL, status TEXT NOT NULL,
  upload_nonce TEXT NOT NULL, upload_expires_at INTEGER NOT NULL,
  handle TEXT UNIQUE, envelope TEXT, created_at INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS connections_owner ON connections (owner_iss, owner_sub);
CREATE TABLE IF NOT EXISTS accounts (
  id TEXT PRIMARY KEY, username TEXT NOT NULL UNIQUE, password_hash TEXT NOT NULL);
`

type Row = Record<string, unknown>

const nowSeconds = (): number => Math.floor(Date.now() / 1000)

function str(row: Row, key: string): string {
  const value = row[key]
  if (typeof value !== 'string') throw new TypeError(`column ${key} is not text`)
  return value
}

function num(row: Row, key: string): number {
  const value = row[key]
  if (typeof value === 'bigint') return Number(value)
  if (typeof value !== 'number') throw new TypeError(`column ${key} is not a number`)
  return value
}

function toConnection(row: Row): ConnectionRecord {
  return {
    id: str(row, 'id'),
    owner: { iss: str(row, 'owner_iss'), sub: str(row, 'owner_sub') },
    name: str(row, 'name'),
    provider: str(row, 'provider'),
    status: str(row, 'status') as ConnectionStatus,
    uploadNonce: str(row, 'upload_nonce'),
    uploadExpiresAt: num(row, 'upload_expires_at'),
    handle: typeof row.handle === 'string' ? row.handle : null,
    envelope: typeof row.envelope === 'string' ? row.envelope : null,
    createdAt: num(row, 'created_at'),
  }
}

/** The columns of {@link ConnectionMetadata}: never `envelope` or `upload_nonce`. */
const METADATA_COLUMNS =
  'id, owner_iss, owner_sub, name, provider, status, upload_expires_at, handle, created_at'

function toMetadata(row: Row): ConnectionMetadata {
  return {
    id: str(row, 'id'),
    owner: { iss: str(row, 'owner_iss'), sub: str(row, 'owner_sub') },
    name: str(row, 'name'),
    provider: str(row, 'provider'),
    status: str(row, 'status') as ConnectionStatus,
    uploadExpiresAt: num(row, 'upload_expires_at'),
    handle: typeof row.handle === 'string' ? row.handle : null,
    createdAt: num(row, 'created_at'),
  }
}

/** `WHERE` clause and parameters of a {@link ConnectionFilter} (`?` placeholders). */
function filterWhere(filter: ConnectionFilter): { where: string; params: string[] } {
  const clauses: string[] = []
  const params: string[] = []
  const add = (column: string, value: string | undefined): void => {
    if (value === undefined) return
    params.push(value)
    clauses.push(`${column} = ?`)
  }
  add('id', filter.id)
  add('handle', filter.handle)
  add('owner_sub', filter.ownerSub)
  add('status', filter.status)
  return { where: clauses.length > 0 ? `WHERE ${clauses.join(' AND ')}` : '', params }
}

function parsePayload(row: Row | undefined): ModelPayload | undefined {
  if (!row) return undefined
  return JSON.parse(str(row, 'payload')) as ModelPayload
}

/** Embedded storage on `node:sqlite` (the default when DATABASE_URL is unset). */
export class SqliteStorage implements Storage {
  readonly kind = 'sqlite'
  readonly oidc: OidcModelStore
  readonly meta: MetaStore
  readonly connections: ConnectionStore
  readonly accounts: AccountStore
  readonly replay: ReplayStore
  readonly #db: DatabaseSync

  constructor(path: string) {
    // The database holds the private signing keys: owner-only (SQLite gives its -wal/-shm
    // files the same mode).
    closeSync(openSync(path, 'a', 0o600))
    chmodSync(path, 0o600)
    const db = new DatabaseSync(path)
    this.#db = db
    db.exec(
      'PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 5000; PRAGMA foreign_keys = ON;',
    )
    db.exec(SCHEMA)
    const live = '(expires_at IS NULL OR expires_at > ?)'

    this.oidc = {
      upsert: (model, id, payload, expiresIn) => {
        const grantId = typeof payload.grantId === 'string' ? payload.grantId : null
        const userCode = typeof payload.userCode === 'string' ? payload.userCode : null
        const uid = typeof payload.uid === 'string' ? payload.uid : null
        const expiresAt = typeof expiresIn === 'number' ? nowSeconds() + expiresIn : null
        db.prepare(
          `INSERT INTO oidc_models (model, id, payload, grant_id, user_code, uid, expires_at)
           VALUES (?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT (model, id) DO UPDATE SET payload = excluded.payload, grant_id = excluded.grant_id,
             user_code = excluded.user_code, uid = excluded.uid, expires_at = excluded.expires_at`,
        ).run(model, id, JSON.stringify(payload), grantId, userCode, uid, expiresAt)
        return Promise.resolve()
      },
      find: (model, id) =>
        Promise.resolve(
          parsePayload(
            db
              .prepare(`SELECT payload FROM oidc_models WHERE model = ? AND id = ? AND ${live}`)
              .get(model, id, nowSeconds()),
          ),
        ),
      findByUid: (model, uid) =>
        Promise.resolve(
          parsePayload(
            db
              .prepare(`SELECT payload FROM oidc_models WHERE model = ? AND uid = ? AND ${live}`)
              .get(model, uid, nowSeconds()),
          ),
        ),
      findByUserCode: (model, userCode) =>
        Promise.resolve(
          parsePayload(
            db
              .prepare(
                `SELECT payload FROM oidc_models WHERE model = ? AND user_code = ? AND ${live}`,
              )
              .get(model, userCode, nowSeconds()),
          ),
        ),
      consume: (model, id) => {
        const result = db
          .prepare(
            `UPDATE oidc_models SET payload = json_set(payload, '$.consumed', ?)
             WHERE model = ? AND id = ? AND json_extract(payload, '$.consumed') IS NULL`,
          )
          .run(nowSeconds(), model, id)
        return Promise.resolve(result.changes === 1)
      },
      destroy: (model, id) => {
        db.prepare('DELETE FROM oidc_models WHERE model = ? AND id = ?').run(model, id)
        return Promise.resolve()
      },
      revokeByGrantId: (grantId) => {
        db.prepare(`DELETE FROM oidc_models WHERE grant_id = ? AND model <> 'Grant'`).run(grantId)
        return Promise.resolve()
      },
    }

    this.meta = {
      getOrCreate: (name, create) => {
        const existing = db.prepare('SELECT value FROM meta WHERE name = ?').get(name)
        if (existing) return Promise.resolve(str(existing, 'value'))
        db.prepare(
          'INSERT INTO meta (name, value) VALUES (?, ?) ON CONFLICT (name) DO NOTHING',
        ).run(name, create())
        const row = db.prepare('SELECT value FROM meta WHERE name = ?').get(name)
        if (!row) return Promise.reject(new Error('meta value missing after insert'))
        return Promise.resolve(str(row, 'value'))
      },
      replace: (name, expected, next) => {
        const result = db
          .prepare('UPDATE meta SET value = ? WHERE name = ? AND value = ?')
          .run(next, name, expected)
        return Promise.resolve(Number(result.changes) === 1)
      },
    }

    let sweeps = 0
    this.replay = {
      // Atomic unique insert: an expired key may be reused, a live one never (RFC 9449 §11.1).
      checkAndStore: (key, expiresAtSeconds) => {
        const now = nowSeconds()
        if (++sweeps % 512 === 0) db.prepare('DELETE FROM replay WHERE expires_at <= ?').run(now)
        const result = db
          .prepare(
            `INSERT INTO replay (key, expires_at) VALUES (?, ?)
             ON CONFLICT (key) DO UPDATE SET expires_at = excluded.expires_at WHERE replay.expires_at <= ?`,
          )
          .run(key, Math.ceil(expiresAtSeconds), now)
        return Promise.resolve(Number(result.changes) === 1)
      },
    }

    const ownerWhere = 'owner_iss = ? AND owner_sub = ?'
    this.connections = {
      create: (r) => {
        db.prepare(
          `INSERT INTO connections (id, owner_iss, owner_sub, name, provider, status, upload_nonce,
             upload_expires_at, handle, envelope, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        ).run(
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
        )
        return Promise.resolve()
      },
      findForOwner: (owner: Owner, id: string) => {
        const row = db
          .prepare(`SELECT * FROM connections WHERE id = ? AND ${ownerWhere}`)
          .get(id, owner.iss, owner.sub)
        return Promise.resolve(row ? toConnection(row) : undefined)
      },
      listForOwner: (owner) =>
        Promise.resolve(
          db
            .prepare(`SELECT * FROM connections WHERE ${ownerWhere} ORDER BY created_at, id`)
            .all(owner.iss, owner.sub)
            .map(toConnection),
        ),
      activate: (owner, id, envelope, handle, now): Promise<ActivateResult> => {
        db.exec('BEGIN IMMEDIATE')
        try {
          const row = db
            .prepare(`SELECT * FROM connections WHERE id = ? AND ${ownerWhere}`)
            .get(id, owner.iss, owner.sub)
          let result: ActivateResult
          if (!row) result = { ok: false, reason: 'not_found' }
          else {
            const record = toConnection(row)
            if (record.status !== 'pending') result = { ok: false, reason: 'not_pending' }
            else if (record.uploadExpiresAt <= now) result = { ok: false, reason: 'upload_expired' }
            else {
              db.prepare(
                `UPDATE connections SET status = 'revoked' WHERE ${ownerWhere} AND name = ? AND status = 'active'`,
              ).run(owner.iss, owner.sub, record.name)
              db.prepare(
                `UPDATE connections SET status = 'active', envelope = ?, handle = ? WHERE id = ?`,
              ).run(envelope, handle, id)
              result = { ok: true, record: { ...record, status: 'active', envelope, handle } }
            }
          }
          db.exec('COMMIT')
          return Promise.resolve(result)
        } catch (error) {
          db.exec('ROLLBACK')
          return Promise.reject(error instanceof Error ? error : new Error('activate failed'))
        }
      },
      revoke: (owner, id) => {
        const result = db
          .prepare(`UPDATE connections SET status = 'revoked' WHERE id = ? AND ${ownerWhere}`)
          .run(id, owner.iss, owner.sub)
        return Promise.resolve(Number(result.changes) === 1)
      },
      findActiveByHandle: (handle) => {
        const row = db
          .prepare(`SELECT * FROM connections WHERE handle = ? AND status = 'active'`)
          .get(handle)
        return Promise.resolve(row ? toConnection(row) : undefined)
      },
      activeHandles: (owner, names) => {
        const out: Record<string, string> = {}
        if (names.length === 0) return Promise.resolve(out)
        const rows = db
          .prepare(`SELECT name, handle FROM connections WHERE ${ownerWhere} AND status = 'active'`)
          .all(owner.iss, owner.sub)
        for (const row of rows) {
          const name = str(row, 'name')
          if (names.includes(name)) out[name] = str(row, 'handle')
        }
        return Promise.resolve(out)
      },
      listMetadata: (filter: ConnectionFilter) => {
        const { where, params } = filterWhere(filter)
        return Promise.resolve(
          db
            .prepare(`SELECT ${METADATA_COLUMNS} FROM connections ${where} ORDER BY created_at, id`)
            .all(...params)
            .map(toMetadata),
        )
      },
    }

    const toAccount = (row: Row): AccountRecord => ({
      id: str(row, 'id'),
      username: str(row, 'username'),
      passwordHash: str(row, 'password_hash'),
    })
    this.accounts = {
      findByUsername: (username) => {
        const row = db.prepare('SELECT * FROM accounts WHERE username = ?').get(username)
        return Promise.resolve(row ? toAccount(row) : undefined)
      },
      findById: (id) => {
        const row = db.prepare('SELECT * FROM accounts WHERE id = ?').get(id)
        return Promise.resolve(row ? toAccount(row) : undefined)
      },
      create: (r) => {
        const result = db
          .prepare(
            'INSERT INTO accounts (id, username, password_hash) VALUES (?, ?, ?) ON CONFLICT DO NOTHING',
          )
          .run(r.id, r.username, r.passwordHash)
        return Promise.resolve(Number(result.changes) === 1)
      },
    }
  }

  close(): Promise<void> {
    if (this.#db.isOpen) this.#db.close()
    return Promise.resolve()
  }
}
