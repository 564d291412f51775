// Issue #7 (3) and (4): two AS, two example-MCP and two enclave processes over one PostgreSQL
// database and Redis, behind round-robin TCP proxies (the issuer, the MCP URL and the enclave
// URL are the proxies' URLs); then PostgreSQL and Redis made unreachable through proxies the
// test controls. A canary credential goes through both enclaves, and at the end every
// process's output, every answer, every row of the test's PostgreSQL database and every key
// of its Redis database are scanned for it.
//
// The test's keys are isolated in a Redis logical database of its own (an empty one of 1-15,
// chosen at random, in REDIS_URL): dumping and cleaning it touches no other test's keys. Each
// service also gets a key prefix of this run (DAUTH_REDIS_PREFIX, DAUTH_MCP_REDIS_PREFIX,
// DAUTH_ENCLAVE_REDIS_PREFIX), and a test checks that every key written is under one of them.
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { after, before, describe, test } from 'node:test'
import { readFile } from 'node:fs/promises'
import { type DemoFlowResult, freePort, runDemoFlow, type ServiceInstance } from '@dauth/devkit'
import {
  ACCESS_TOKEN_TYPE,
  createDpopProof,
  generateDpopKeyPair,
  parseWwwAuthenticate,
  TOKEN_EXCHANGE_GRANT_TYPE,
} from '@dauth/protocol'
import { DAuthConnections } from '@dauth/sdk-client'
import { loadAttestationPolicy } from '@dauth/sdk-client/node'
import { Redis } from 'ioredis'
import pg from 'pg'
import {
  addConnection,
  callTool,
  canaryForms,
  dumpPostgres,
  dumpRedis,
  makeCanary,
  newOwner,
  type Owner,
  parseDispatch,
  scanForCanary,
  seenBodies,
  startTcpProxy,
  startTestStack,
  type TcpProxy,
  type TestStack,
  upstreamRequests,
} from './helpers.ts'

const database = `dauth_sec_${randomBytes(6).toString('hex')}`
const admin = () =>
  new pg.Client({ connectionString: 'postgres://postgres@127.0.0.1:5432/postgres' })
/** The test's own database, directly (not through the proxy the faults cut). */
const own = () =>
  new pg.Client({ connectionString: `postgres://postgres@127.0.0.1:5432/${database}` })

let t: TestStack
let asProxy: TcpProxy
let mcpProxy: TcpProxy
let pgProxy: TcpProxy
let redisProxy: TcpProxy
let enclaveProxy: TcpProxy
let enclavePorts: [number, number]
let flow: DemoFlowResult
let redisDb: number
let redis: Redis
let canary: string
let canaryOwner: Owner
const extra: ServiceInstance[] = []
const run = randomBytes(4).toString('hex')
const PREFIXES = {
  DAUTH_REDIS_PREFIX: `sec-${run}:as:`,
  DAUTH_MCP_REDIS_PREFIX: `sec-${run}:mcp:`,
  DAUTH_ENCLAVE_REDIS_PREFIX: `sec-${run}:enclave:`,
}

/** An empty Redis logical database for this test's keys (see the top of the file). */
async function emptyRedisDatabase(): Promise<{ db: number; client: Redis }> {
  const start = 1 + Math.floor(Math.random() * 15)
  for (let i = 0; i < 15; i++) {
    const db = 1 + ((start - 1 + i) % 15)
    const client = new Redis(`redis://127.0.0.1:6379/${db}`, { maxRetriesPerRequest: 1 })
    if ((await client.dbsize()) === 0) return { db, client }
    client.disconnect()
  }
  throw new Error('no empty Redis database among 1-15')
}

before(async () => {
  const client = admin()
  await client.connect()
  await client.query(`CREATE DATABASE ${database}`)
  await client.end()
  ;({ db: redisDb, client: redis } = await emptyRedisDatabase())
  pgProxy = await startTcpProxy([5432])
  redisProxy = await startTcpProxy([6379])
  const [as1, as2, mcp1, mcp2, enclave1, enclave2] = [
    await freePort(),
    await freePort(),
    await freePort(),
    await freePort(),
    await freePort(),
    await freePort(),
  ]
  enclavePorts = [enclave1, enclave2]
  asProxy = await startTcpProxy([as1, as2])
  mcpProxy = await startTcpProxy([mcp1, mcp2])
  enclaveProxy = await startTcpProxy(enclavePorts)
  t = await startTestStack({
    ports: { as: asProxy.port, mcp: mcpProxy.port, enclave: enclaveProxy.port },
    listenPorts: { as: as1, mcp: mcp1, enclave: enclave1 },
    env: {
      DATABASE_URL: `postgres://postgres@127.0.0.1:${pgProxy.port}/${database}`,
      REDIS_URL: `redis://127.0.0.1:${redisProxy.port}/${redisDb}`,
      ...PREFIXES,
    },
  })
  extra.push(await t.stack.startInstance('as', { port: as2 }))
  extra.push(await t.stack.startInstance('mcp', { port: mcp2 }))
  // A stateless replica: the same state folder (wrapped box keys, platform key) and Redis.
  extra.push(await t.stack.startInstance('enclave', { port: enclave2 }))
  canary = makeCanary()
  canaryOwner = await newOwner(t.stack.issuer, t.stack.mcpUrl, t.stack.paths.attestationFile)
  await addConnection(canaryOwner, new URL(t.stack.upstreamUrl).host, canary, {
    type: 'header',
    name: 'X-Api-Key',
    template: 'Token {secret}',
  })
})

after(async () => {
  await t?.close()
  for (const proxy of [asProxy, mcpProxy, enclaveProxy, pgProxy, redisProxy]) await proxy?.close()
  if (redis) {
    // Only this test wrote to its database (it was empty); leave it empty.
    const keys = await redis.keys('*')
    if (keys.length > 0) await redis.del(...keys)
    redis.disconnect()
  }
  const client = admin()
  await client.connect()
  await client.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`)
  await client.end()
})

describe('scale-out: two AS, two MCP and two enclave instances over PostgreSQL and Redis', () => {
  test('the full flow works through the round-robin proxies', async () => {
    flow = await runDemoFlow({
      issuer: t.stack.issuer,
      mcpUrl: t.stack.mcpUrl,
      upstreamHost: new URL(t.stack.upstreamUrl).host,
      attestationFile: t.stack.paths.attestationFile,
    })
    assert.equal(flow.whoami.credential_sha256, flow.credentialSha256)
    assert.equal(flow.whoami.via, 'bearer')
    // Every instance answers the flow's tool on its own.
    for (const index of [0, 1]) {
      await mcpProxy.pin(index)
      const answer = await callTool(t.stack.mcpUrl, flow.mcpAuth, 'whoami', {})
      assert.equal(answer.isError, false, `mcp #${index}: ${answer.text}`)
    }
    await mcpProxy.pin(undefined)
    assert.ok(
      asProxy.counts.every((n) => n > 0),
      `AS connections ${asProxy.counts.join('/')}`,
    )
  })

  test('a DPoP proof accepted by AS #1 is refused as a replay by AS #2', async () => {
    const meta = (await (
      await fetch(`${t.stack.issuer}/.well-known/oauth-authorization-server`)
    ).json()) as { token_endpoint: string }
    const key = await generateDpopKeyPair()
    const request = async (proof: string) => {
      const res = await fetch(meta.token_endpoint, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          authorization: `Basic ${Buffer.from(`${flow.clientId}:${flow.clientSecret}`).toString('base64')}`,
          dpop: proof,
        },
        body: new URLSearchParams({
          grant_type: 'client_credentials',
          resource: t.stack.mcpUrl,
          scope: 'read',
        }),
      })
      return { status: res.status, body: (await res.json()) as Record<string, unknown> }
    }
    const proof = await createDpopProof(key, { htm: 'POST', htu: meta.token_endpoint })
    await asProxy.pin(0)
    const first = await request(proof)
    assert.equal(first.status, 200, JSON.stringify(first.body))
    await asProxy.pin(1)
    const fresh = await request(
      await createDpopProof(key, { htm: 'POST', htu: meta.token_endpoint }),
    )
    assert.equal(fresh.status, 200, 'AS #2 accepts a fresh proof')
    const replayed = await request(proof)
    await asProxy.pin(undefined)
    assert.equal(replayed.status, 400, JSON.stringify(replayed.body))
    // oidc-provider (lib/helpers/validate_dpop.js) reports a replayed proof at the token
    // endpoint as invalid_grant ("DPoP proof JWT Replay detected" only in its log).
    assert.deepEqual(replayed.body, {
      error: 'invalid_grant',
      error_description: 'grant request is invalid',
    })
  })

  test('dispatch works through either enclave instance (shared wrapped keys and Redis)', async () => {
    for (const index of [0, 1]) {
      await enclaveProxy.pin(index)
      const before = enclaveProxy.counts[index] ?? 0
      const whoami = await callTool(t.stack.mcpUrl, flow.mcpAuth, 'whoami', {})
      assert.equal(whoami.isError, false, `enclave #${index}: ${whoami.text}`)
      assert.equal(
        (JSON.parse(whoami.text) as { credential_sha256: string }).credential_sha256,
        flow.credentialSha256,
      )
      // The canary connection: the upstream echoes it, the enclave redacts it.
      const echo = parseDispatch(
        await callTool(t.stack.mcpUrl, canaryOwner.mcpAuth, 'api_request', {
          connection: 'demo',
          method: 'GET',
          path: '/echo',
        }),
      )
      assert.equal(echo.status, 200)
      assert.equal(
        (JSON.parse(echo.body) as { headers: Record<string, string> }).headers['x-api-key'],
        'Token [REDACTED]',
      )
      assert.ok((enclaveProxy.counts[index] ?? 0) > before, `enclave #${index} was not used`)
    }
    await enclaveProxy.pin(undefined)
  })

  test('a dispatch proof accepted by enclave #1 is refused as a replay by enclave #2', async () => {
    // What the MCP server does (RFC 8693 exchange, then POST /dispatch), by hand, so that the
    // very same token and proof can be presented to the other instance.
    const mcpClient = JSON.parse(await readFile(t.stack.paths.mcpClientFile, 'utf8')) as {
      client_id: string
      client_secret: string
    }
    const subject = await flow.mcpAuth.getAccessToken()
    assert.ok(subject)
    const meta = (await (
      await fetch(`${t.stack.issuer}/.well-known/oauth-authorization-server`)
    ).json()) as { token_endpoint: string }
    const key = await generateDpopKeyPair()
    const exchange = await fetch(meta.token_endpoint, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${Buffer.from(`${mcpClient.client_id}:${mcpClient.client_secret}`).toString('base64')}`,
        dpop: await createDpopProof(key, { htm: 'POST', htu: meta.token_endpoint }),
      },
      body: new URLSearchParams({
        grant_type: TOKEN_EXCHANGE_GRANT_TYPE,
        subject_token: subject.value,
        subject_token_type: ACCESS_TOKEN_TYPE,
        resource: t.stack.enclaveUrl,
        connections: flow.handle,
      }),
    })
    const exchanged = (await exchange.json()) as { access_token?: string; token_type?: string }
    assert.equal(exchange.status, 200, JSON.stringify(exchanged))
    assert.equal(exchanged.token_type, 'DPoP')
    const token = exchanged.access_token ?? ''
    const htu = `${t.stack.enclaveUrl}/dispatch`
    const dispatch = (port: number, proof: string) =>
      fetch(`http://127.0.0.1:${port}/dispatch`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          authorization: `DPoP ${token}`,
          dpop: proof,
        },
        body: JSON.stringify({ handle: flow.handle, request: { method: 'GET', path: '/user' } }),
      })
    const [first, second] = enclavePorts
    const proof = await createDpopProof(key, { htm: 'POST', htu, accessToken: token })
    const accepted = await dispatch(first, proof)
    const answer = (await accepted.json()) as { status: number; body: string }
    assert.equal(accepted.status, 200, JSON.stringify(answer))
    assert.equal(answer.status, 200)
    assert.equal(
      (JSON.parse(answer.body) as { credential_sha256: string }).credential_sha256,
      flow.credentialSha256,
    )

    const before = upstreamRequests(t.stack.output.upstream).length
    const replayed = await dispatch(second, proof)
    assert.equal(replayed.status, 401)
    assert.deepEqual(await replayed.json(), {
      error: 'invalid_token',
      error_description: 'The dispatch token or its DPoP proof is invalid',
    })
    const challenge = parseWwwAuthenticate(replayed.headers.get('www-authenticate') ?? '')
    assert.equal(challenge[0]?.scheme, 'DPoP')
    assert.equal(challenge[0]?.params.error, 'invalid_token')
    assert.equal(
      upstreamRequests(t.stack.output.upstream).length,
      before,
      'the upstream was called',
    )

    // The refusal is the replay, not the instance: a fresh proof is accepted there.
    const fresh = await dispatch(
      second,
      await createDpopProof(key, { htm: 'POST', htu, accessToken: token }),
    )
    assert.equal(fresh.status, 200, await fresh.clone().text())
    await fresh.arrayBuffer()
  })

  test("every Redis key is under its service's configured prefix, and each service wrote some", async () => {
    const keys = await redis.keys('*')
    const counts = Object.values(PREFIXES).map(
      (prefix) => keys.filter((key) => key.startsWith(prefix)).length,
    )
    assert.deepEqual(
      keys.filter((key) => !Object.values(PREFIXES).some((prefix) => key.startsWith(prefix))),
      [],
    )
    assert.ok(
      counts.every((count) => count > 0),
      `keys per prefix (AS, MCP, enclave): ${counts.join(', ')}`,
    )
  })

  test('revoking a connection via AS #1 stops dispatch via both MCP instances', async () => {
    const connections = new DAuthConnections({
      issuer: t.stack.issuer,
      auth: flow.vaultAuth,
      attestation: await loadAttestationPolicy(t.stack.paths.attestationFile),
    })
    await asProxy.pin(0)
    await connections.revoke(flow.connectionId)
    await asProxy.pin(undefined)
    const before = upstreamRequests(t.stack.output.upstream).length
    for (const index of [0, 1]) {
      await mcpProxy.pin(index)
      const answer = await callTool(t.stack.mcpUrl, flow.mcpAuth, 'whoami', {})
      assert.equal(answer.isError, true, `mcp #${index} still dispatched: ${answer.text}`)
      assert.match(answer.text, /^Dispatch refused: /)
    }
    await mcpProxy.pin(undefined)
    assert.equal(upstreamRequests(t.stack.output.upstream).length, before)
  })
})

describe('PostgreSQL and Redis unreachable', () => {
  const tokenRequest = async () => {
    const started = Date.now()
    const key = await generateDpopKeyPair()
    const meta = (await (
      await fetch(`${t.stack.issuer}/.well-known/oauth-authorization-server`, {
        signal: AbortSignal.timeout(15_000),
      })
    ).json()) as { token_endpoint: string }
    const res = await fetch(meta.token_endpoint, {
      method: 'POST',
      signal: AbortSignal.timeout(15_000),
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${Buffer.from(`${flow.clientId}:${flow.clientSecret}`).toString('base64')}`,
        dpop: await createDpopProof(key, { htm: 'POST', htu: meta.token_endpoint }),
      },
      body: new URLSearchParams({
        grant_type: 'client_credentials',
        resource: `${t.stack.issuer}/connections`,
        scope: 'connections:read',
      }),
    })
    return {
      status: res.status,
      body: await res.text(),
      retryAfter: res.headers.get('retry-after'),
      ms: Date.now() - started,
    }
  }

  for (const [name, proxy] of [
    ['PostgreSQL', () => pgProxy],
    ['Redis', () => redisProxy],
  ] as const) {
    for (const mode of ['reset', 'blackhole'] as const) {
      test(`${name} ${mode === 'reset' ? 'refusing connections' : 'not answering'}: the token endpoint fails closed with 503 temporarily_unavailable like the MCP server and enclave, then recovers`, async () => {
        const ok = await tokenRequest()
        assert.equal(ok.status, 200, ok.body)
        await proxy().setMode(mode)
        try {
          // Fail closed: no token, a clear error (the 15 s request limit bounds the time).
          const cut = await tokenRequest()
          assert.equal(cut.status, 503, `${cut.status} after ${cut.ms} ms: ${cut.body}`)
          assert.deepEqual(JSON.parse(cut.body), {
            error: 'temporarily_unavailable',
            error_description: "The authorization server's storage is temporarily unavailable",
          })
          assert.equal(cut.retryAfter, '5')
        } finally {
          await proxy().setMode('forward')
        }
        let recovered = await tokenRequest()
        for (let i = 0; i < 50 && recovered.status !== 200; i++) {
          await new Promise((r) => setTimeout(r, 200))
          recovered = await tokenRequest()
        }
        assert.equal(recovered.status, 200, recovered.body)
      })
    }
  }
})

describe('the canary scan over the scaled-out stack (runs last)', () => {
  test('the PostgreSQL and Redis dumps find a planted canary (positive control)', async () => {
    const planted = makeCanary()
    const forms = canaryForms(planted)
    const client = own()
    await client.connect()
    const table = `canary_control_${randomBytes(4).toString('hex')}`
    try {
      await client.query(`CREATE TABLE ${table} (a text, b bytea, c jsonb)`)
      await client.query(`INSERT INTO ${table} VALUES ($1, $2, $3)`, [
        'nothing',
        Buffer.from(planted),
        JSON.stringify({ nested: planted }),
      ])
      const hits = scanForCanary({ pg: (await dumpPostgres(client)).text }, forms)
      for (const form of ['raw', 'hex', 'base64', 'json-escaped']) {
        assert.ok(hits.includes(`${form} in pg`), `${form}: ${hits.join(', ')}`)
      }
    } finally {
      await client.query(`DROP TABLE IF EXISTS ${table}`)
      await client.end()
    }
    const key = `dauth:canary-control:${randomBytes(4).toString('hex')}`
    try {
      await redis.hset(key, 'field', Buffer.from(planted))
      const hits = scanForCanary({ redis: (await dumpRedis(redis)).text }, forms)
      assert.ok(hits.includes('raw in redis'), hits.join(', '))
      assert.ok(hits.includes('base64 in redis'), hits.join(', '))
    } finally {
      await redis.del(key)
    }
  })

  test('no process output, answer, PostgreSQL row or Redis key holds the canary in any form', async () => {
    assert.ok(seenBodies.length >= 6, `only ${seenBodies.length} answers recorded`)
    const client = own()
    await client.connect()
    const postgres = await dumpPostgres(client).finally(() => client.end())
    assert.ok(postgres.tables > 0 && postgres.rows > 0, 'the AS database is empty')
    const redisDump = await dumpRedis(redis)
    // The DPoP replay entries of the AS, the MCP servers and the enclaves live there.
    for (const prefix of Object.values(PREFIXES)) {
      assert.ok(redisDump.text.includes(prefix), `no ${prefix} key in Redis database ${redisDb}`)
    }
    const sources: Record<string, string> = {
      answers: seenBodies.join('\n'),
      postgres: postgres.text,
      redis: redisDump.text,
    }
    for (const [service, lines] of Object.entries(t.stack.output)) {
      sources[`${service} output`] = lines.join('\n')
    }
    for (const instance of extra) {
      sources[`${instance.service} second instance output`] = instance.output.join('\n')
    }
    assert.deepEqual(scanForCanary(sources, canaryForms(canary)), [])
  })
})
