import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { SqliteStorage } from '../src/storage/sqlite.ts'
import { PostgresStorage } from '../src/storage/postgres.ts'
import type { ConnectionRecord, Storage } from '../src/storage/types.ts'
import {
  ALICE,
  MCP_RESOURCE,
  clientCredentialsToken,
  createDpopProof,
  decode,
  generateDpopKeyPair,
  startTestServer,
  tokenRequest,
} from './helpers.ts'
import { createDatabase, postgresAvailable } from './helpers/backends.ts'

function connection(overrides: Partial<ConnectionRecord> = {}): ConnectionRecord {
  return {
    id: `conn_${randomBytes(32).toString('base64url')}`,
    owner: { iss: 'http://as', sub: 'alice' },
    name: 'demo',
    provider: 'demo',
    status: 'pending',
    uploadNonce: randomBytes(32).toString('base64url'),
    uploadExpiresAt: 2_000_000_000,
    handle: null,
    envelope: null,
    createdAt: 1_700_000_000,
    ...overrides,
  }
}

function storageSuite(
  kind: string,
  open: () => Promise<{ storage: Storage; cleanup(): Promise<void> }>,
  skip: () => boolean,
): void {
  describe(`${kind} storage`, () => {
    let storage: Storage
    let cleanup: () => Promise<void>
    before(async () => {
      if (skip()) return
      const opened = await open()
      storage = opened.storage
      cleanup = () => opened.cleanup()
    })
    after(async () => {
      if (skip()) return
      await storage.close()
      await cleanup()
    })

    test('oidc models: upsert, find, consume, indexes, revokeByGrantId, destroy', async (t) => {
      if (skip()) return t.skip('PostgreSQL is not reachable on 127.0.0.1:5432')
      await storage.oidc.upsert(
        'AccessToken',
        'a1',
        { jti: 'a1', grantId: 'g1', kind: 'AccessToken' },
        60,
      )
      await storage.oidc.upsert('RefreshToken', 'r1', { jti: 'r1', grantId: 'g1' }, 60)
      await storage.oidc.upsert('Grant', 'g1', { jti: 'g1' }, undefined)
      await storage.oidc.upsert('Session', 's1', { uid: 'u1', jti: 's1' }, 60)
      await storage.oidc.upsert('DeviceCode', 'd1', { userCode: 'ABCD', jti: 'd1' }, 60)
      await storage.oidc.upsert('AccessToken', 'old', { jti: 'old' }, -1)
      assert.deepEqual(await storage.oidc.find('AccessToken', 'a1'), {
        jti: 'a1',
        grantId: 'g1',
        kind: 'AccessToken',
      })
      assert.equal(await storage.oidc.find('RefreshToken', 'a1'), undefined)
      assert.equal(
        await storage.oidc.find('AccessToken', 'old'),
        undefined,
        'expired entries are not found',
      )
      assert.deepEqual(await storage.oidc.findByUid('Session', 'u1'), { uid: 'u1', jti: 's1' })
      assert.deepEqual(await storage.oidc.findByUserCode('DeviceCode', 'ABCD'), {
        userCode: 'ABCD',
        jti: 'd1',
      })
      // Compare-and-set: only the first consume wins, also when issued concurrently.
      const consumed = await Promise.all([
        storage.oidc.consume('AccessToken', 'a1'),
        storage.oidc.consume('AccessToken', 'a1'),
      ])
      assert.deepEqual(consumed.sort(), [false, true])
      assert.equal(await storage.oidc.consume('AccessToken', 'a1'), false)
      assert.equal(await storage.oidc.consume('AccessToken', 'absent'), false)
      assert.equal(typeof (await storage.oidc.find('AccessToken', 'a1'))?.consumed, 'number')
      await storage.oidc.revokeByGrantId('g1')
      assert.equal(await storage.oidc.find('AccessToken', 'a1'), undefined)
      assert.equal(await storage.oidc.find('RefreshToken', 'r1'), undefined)
      await storage.oidc.destroy('Session', 's1')
      assert.equal(await storage.oidc.findByUid('Session', 'u1'), undefined)
    })

    test('replay store is atomic and never forgets a live key', async (t) => {
      if (skip()) return t.skip('PostgreSQL is not reachable on 127.0.0.1:5432')
      const exp = Math.floor(Date.now() / 1000) + 300
      const results = await Promise.all(
        Array.from({ length: 20 }, () => storage.replay.checkAndStore('jkt:jti-1', exp)),
      )
      assert.equal(results.filter(Boolean).length, 1)
      for (let i = 0; i < 10_000; i += 500) {
        await Promise.all(
          Array.from({ length: 500 }, (_, j) =>
            storage.replay.checkAndStore(`flood:${i + j}`, exp),
          ),
        )
      }
      assert.equal(await storage.replay.checkAndStore('jkt:jti-1', exp), false)
      // An expired key may be recorded again.
      const past = Math.floor(Date.now() / 1000) - 1
      assert.equal(await storage.replay.checkAndStore('jkt:jti-2', past), true)
      assert.equal(await storage.replay.checkAndStore('jkt:jti-2', exp), true)
      assert.equal(await storage.replay.checkAndStore('jkt:jti-2', exp), false)
    })

    test('meta getOrCreate keeps the first value', async (t) => {
      if (skip()) return t.skip('PostgreSQL is not reachable on 127.0.0.1:5432')
      assert.equal(await storage.meta.getOrCreate('k', () => 'first'), 'first')
      assert.equal(await storage.meta.getOrCreate('k', () => 'second'), 'first')
    })

    test('connections: activation supersedes by name, owner scoping, revoke', async (t) => {
      if (skip()) return t.skip('PostgreSQL is not reachable on 127.0.0.1:5432')
      const owner = { iss: 'http://as', sub: `owner-${kind}` }
      const a = connection({ owner })
      const b = connection({ owner, createdAt: 1_700_000_001 })
      await storage.connections.create(a)
      await storage.connections.create(b)
      assert.deepEqual(
        await storage.connections.activate(owner, a.id, '{"e":1}', 'hdl_a', 1_800_000_000),
        {
          ok: true,
          record: { ...a, status: 'active', envelope: '{"e":1}', handle: 'hdl_a' },
        },
      )
      assert.deepEqual(
        await storage.connections.activate(owner, a.id, '{}', 'hdl_x', 1_800_000_000),
        {
          ok: false,
          reason: 'not_pending',
        },
      )
      const other = { iss: 'http://as', sub: 'mallory' }
      assert.deepEqual(
        await storage.connections.activate(other, b.id, '{}', 'hdl_y', 1_800_000_000),
        {
          ok: false,
          reason: 'not_found',
        },
      )
      assert.deepEqual(
        await storage.connections.activate(owner, b.id, '{}', 'hdl_b', 2_100_000_000),
        {
          ok: false,
          reason: 'upload_expired',
        },
      )
      assert.deepEqual(await storage.connections.activeHandles(owner, ['demo', 'other']), {
        demo: 'hdl_a',
      })
      const c = connection({ owner, createdAt: 1_700_000_002 })
      await storage.connections.create(c)
      await storage.connections.activate(owner, c.id, '{}', 'hdl_c', 1_800_000_000)
      assert.deepEqual(await storage.connections.activeHandles(owner, ['demo']), { demo: 'hdl_c' })
      assert.equal(await storage.connections.findActiveByHandle('hdl_a'), undefined)
      assert.equal((await storage.connections.findForOwner(owner, a.id))?.status, 'revoked')
      assert.equal(await storage.connections.findForOwner(other, c.id), undefined)
      assert.equal(await storage.connections.revoke(other, c.id), false)
      assert.equal(await storage.connections.revoke(owner, c.id), true)
      assert.equal(await storage.connections.findActiveByHandle('hdl_c'), undefined)
      assert.deepEqual(
        (await storage.connections.listForOwner(owner)).map((r) => [r.id, r.status]),
        [
          [a.id, 'revoked'],
          [b.id, 'pending'],
          [c.id, 'revoked'],
        ],
      )
    })

    test('accounts: unique usernames', async (t) => {
      if (skip()) return t.skip('PostgreSQL is not reachable on 127.0.0.1:5432')
      assert.equal(
        await storage.accounts.create({ id: 'acct_1', username: 'u', passwordHash: 'h' }),
        true,
      )
      assert.equal(
        await storage.accounts.create({ id: 'acct_2', username: 'u', passwordHash: 'h' }),
        false,
      )
      assert.deepEqual(await storage.accounts.findByUsername('u'), {
        id: 'acct_1',
        username: 'u',
        passwordHash: 'h',
      })
      assert.equal((await storage.accounts.findById('acct_1'))?.username, 'u')
    })
  })
}

const pgUp = await postgresAvailable()

storageSuite(
  'sqlite',
  () => {
    const dir = mkdtempSync(join(tmpdir(), 'dauth-as-store-'))
    return Promise.resolve({
      storage: new SqliteStorage(join(dir, 'as.sqlite')),
      cleanup: () => {
        rmSync(dir, { recursive: true, force: true })
        return Promise.resolve()
      },
    })
  },
  () => false,
)

storageSuite(
  'postgres',
  async () => {
    const db = await createDatabase()
    return { storage: await PostgresStorage.connect(db.url), cleanup: () => db.drop() }
  },
  () => !pgUp,
)

describe('the AS on PostgreSQL', () => {
  test('two instances share keys, replay state and connections', async (t) => {
    if (!pgUp) return t.skip('PostgreSQL is not reachable on 127.0.0.1:5432')
    const db = await createDatabase()
    try {
      const a = await startTestServer({ databaseUrl: db.url })
      const b = await startTestServer({ databaseUrl: db.url, issuer: a.url, port: 0 })
      try {
        const jwksA = await (await fetch(`${a.url}/oauth/jwks`)).json()
        const bBase = `http://127.0.0.1:${b.port}`
        assert.deepEqual(await (await fetch(`${bBase}/oauth/jwks`)).json(), jwksA)
        const key = await generateDpopKeyPair()
        const token = await clientCredentialsToken(a, ALICE, key, MCP_RESOURCE, 'read')
        assert.equal(decode(token).header.kid, (jwksA as { keys: { kid: string }[] }).keys[0]?.kid)
        // A proof used at instance A is refused at instance B (shared atomic replay store).
        const proof = await createDpopProof(key, { htm: 'POST', htu: a.tokenEndpoint })
        const params = { grant_type: 'client_credentials', resource: MCP_RESOURCE, scope: 'read' }
        assert.equal((await tokenRequest(a, params, { client: ALICE, dpop: proof })).status, 200)
        const onB = await tokenRequest({ ...b, tokenEndpoint: `${bBase}/oauth/token` }, params, {
          client: ALICE,
          dpop: proof,
        })
        assert.equal(onB.status, 400)
        assert.equal(onB.body.error, 'invalid_grant')
      } finally {
        await b.close()
        await a.close()
      }
    } finally {
      await db.drop()
    }
  })
})

describe('the AS with REDIS_URL', () => {
  test('DPoP replay state lives in Redis (SET NX): a proof is refused the second time', async (t) => {
    const { Redis } = await import('ioredis')
    const probe = new Redis('redis://127.0.0.1:6379', {
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    })
    const up = await probe.connect().then(
      () => true,
      () => false,
    )
    probe.disconnect()
    if (!up) return t.skip('Redis is not reachable on 127.0.0.1:6379')
    const server = await startTestServer({ redisUrl: 'redis://127.0.0.1:6379' })
    try {
      const key = await generateDpopKeyPair()
      const proof = await createDpopProof(key, { htm: 'POST', htu: server.tokenEndpoint })
      const params = { grant_type: 'client_credentials', resource: MCP_RESOURCE, scope: 'read' }
      assert.equal((await tokenRequest(server, params, { client: ALICE, dpop: proof })).status, 200)
      const replay = await tokenRequest(server, params, { client: ALICE, dpop: proof })
      assert.equal(replay.status, 400)
      assert.equal(replay.body.error, 'invalid_grant')
      const check = new Redis('redis://127.0.0.1:6379')
      const { jti } = decode(proof).claims as { jti: string }
      const stored = await check.exists(`dauth:as:replay:oidc-dpop:${ALICE.client_id}:${jti}`)
      check.disconnect()
      assert.equal(stored, 1)
    } finally {
      await server.close()
    }
  })
})

describe('fail closed', () => {
  test('an unreachable Redis makes DPoP token requests fail closed with 503 temporarily_unavailable, never succeed', async () => {
    const { createServer } = await import('node:net')
    const closed = createServer()
    closed.listen(0, '127.0.0.1')
    await new Promise((resolve) => closed.once('listening', resolve))
    const port = (closed.address() as { port: number }).port
    await new Promise((resolve) => closed.close(resolve))
    const server = await startTestServer({ redisUrl: `redis://127.0.0.1:${port}` })
    try {
      const key = await generateDpopKeyPair()
      const proof = await createDpopProof(key, { htm: 'POST', htu: server.tokenEndpoint })
      const res = await tokenRequest(
        server,
        { grant_type: 'client_credentials', resource: MCP_RESOURCE, scope: 'read' },
        { client: ALICE, dpop: proof },
      )
      assert.equal(res.status, 503)
      assert.deepEqual(res.body, {
        error: 'temporarily_unavailable',
        error_description: "The authorization server's storage is temporarily unavailable",
      })
      assert.equal(res.headers.get('retry-after'), '5')
    } finally {
      await server.close()
    }
  })
})
