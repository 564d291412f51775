// Storage / replay-store outages fail closed with 503 temporarily_unavailable + Retry-After
// (wire.md), on oidc-provider endpoints and on the AS's own routes alike, then recover.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { connect, createServer, type Server, type Socket } from 'node:net'
import pg from 'pg'
import {
  ALICE,
  clientCredentialsToken,
  createDpopProof,
  dpopRequest,
  generateDpopKeyPair,
  startTestServer,
  tokenRequest,
  type TestServer,
} from './helpers.ts'

const UNAVAILABLE = {
  error: 'temporarily_unavailable',
  error_description: "The authorization server's storage is temporarily unavailable",
}

/** A TCP forwarder to a local port whose `cut()` resets every connection, old and new. */
interface CuttableProxy {
  port: number
  cut(): void
  restore(): void
  close(): Promise<void>
}

async function startCuttableProxy(targetPort: number): Promise<CuttableProxy> {
  const sockets = new Set<Socket>()
  let cut = false
  const server: Server = createServer((client) => {
    if (cut) {
      client.destroy()
      return
    }
    const upstream = connect(targetPort, '127.0.0.1')
    sockets.add(client)
    sockets.add(upstream)
    const end = (): void => {
      client.destroy()
      upstream.destroy()
      sockets.delete(client)
      sockets.delete(upstream)
    }
    for (const socket of [client, upstream]) {
      socket.on('error', end)
      socket.on('close', end)
    }
    client.pipe(upstream)
    upstream.pipe(client)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const destroyAll = (): void => {
    for (const socket of sockets) socket.destroy()
    sockets.clear()
  }
  return {
    port: (server.address() as { port: number }).port,
    cut: () => {
      cut = true
      destroyAll()
    },
    restore: () => {
      cut = false
    },
    close: async () => {
      destroyAll()
      await new Promise((resolve) => server.close(resolve))
    },
  }
}

async function reachable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1')
    socket.once('connect', () => {
      socket.destroy()
      resolve(true)
    })
    socket.once('error', () => resolve(false))
  })
}

/** Token endpoint + vault route while the store is cut, then recovery once it is back. */
async function assertFailsClosedAndRecovers(
  server: TestServer,
  proxy: CuttableProxy,
): Promise<void> {
  const vaultUrl = `${server.url}/connections`
  const key = await generateDpopKeyPair()
  const token = await clientCredentialsToken(server, ALICE, key, vaultUrl, 'connections:read')
  const before = await dpopRequest(vaultUrl, 'GET', token, key)
  assert.equal(before.status, 200)

  proxy.cut()
  const cutToken = await tokenRequest(
    server,
    { grant_type: 'client_credentials', resource: vaultUrl, scope: 'connections:read' },
    {
      client: ALICE,
      dpop: await createDpopProof(key, { htm: 'POST', htu: server.tokenEndpoint }),
    },
  )
  assert.equal(cutToken.status, 503)
  assert.deepEqual(cutToken.body, UNAVAILABLE)
  assert.equal(cutToken.headers.get('retry-after'), '5')
  assert.equal(cutToken.headers.get('cache-control'), 'no-store')

  const cutVault = await dpopRequest(vaultUrl, 'GET', token, key)
  assert.equal(cutVault.status, 503)
  assert.deepEqual(cutVault.body, UNAVAILABLE)
  assert.equal(cutVault.headers.get('retry-after'), '5')
  assert.equal(cutVault.headers.get('cache-control'), 'no-store')
  assert.equal(cutVault.headers.get('www-authenticate'), null)

  proxy.restore()
  // The client reconnects on its own (bounded polling: a reconnect is not an expiry).
  let recovered = await dpopRequest(vaultUrl, 'GET', token, key)
  for (let i = 0; i < 50 && recovered.status !== 200; i++) {
    await new Promise((resolve) => setTimeout(resolve, 100))
    recovered = await dpopRequest(vaultUrl, 'GET', token, key)
  }
  assert.equal(recovered.status, 200, JSON.stringify(recovered.body))
}

describe('storage unavailable: 503 temporarily_unavailable with Retry-After', () => {
  test('Redis replay store cut off', async (t) => {
    if (!(await reachable(6379))) return t.skip('Redis is not reachable on 127.0.0.1:6379')
    const proxy = await startCuttableProxy(6379)
    const server = await startTestServer({ redisUrl: `redis://127.0.0.1:${proxy.port}` })
    try {
      await assertFailsClosedAndRecovers(server, proxy)
    } finally {
      await server.close()
      await proxy.close()
    }
  })

  describe('PostgreSQL cut off', () => {
    const database = `dauth_as_unavail_${randomBytes(6).toString('hex')}`
    const admin = (): pg.Client =>
      new pg.Client({ connectionString: 'postgres://postgres@127.0.0.1:5432/postgres' })
    let up = false
    before(async () => {
      up = await reachable(5432)
      if (!up) return
      const client = admin()
      await client.connect()
      await client.query(`CREATE DATABASE ${database}`)
      await client.end()
    })
    after(async () => {
      if (!up) return
      const client = admin()
      await client.connect()
      await client.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`)
      await client.end()
    })

    test('token endpoint and vault route fail closed, then recover', async (t) => {
      if (!up) return t.skip('PostgreSQL is not reachable on 127.0.0.1:5432')
      const proxy = await startCuttableProxy(5432)
      const server = await startTestServer({
        databaseUrl: `postgres://postgres@127.0.0.1:${proxy.port}/${database}`,
      })
      try {
        await assertFailsClosedAndRecovers(server, proxy)
      } finally {
        await server.close()
        await proxy.close()
      }
    })
  })
})
