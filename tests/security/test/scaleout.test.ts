// Issue #7 (3) and (4): two AS and two example-MCP processes over one PostgreSQL database and
// Redis, behind round-robin TCP proxies (the issuer and the MCP URL are the proxies' URLs);
// then PostgreSQL and Redis made unreachable through proxies the test controls.
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { after, before, describe, test } from 'node:test'
import { type DemoFlowResult, freePort, runDemoFlow, type ServiceInstance } from '@dauth/devkit'
import { createDpopProof, generateDpopKeyPair } from '@dauth/protocol'
import { DAuthConnections } from '@dauth/sdk-client'
import { loadAttestationPolicy } from '@dauth/sdk-client/node'
import pg from 'pg'
import {
  callTool,
  startTcpProxy,
  startTestStack,
  type TcpProxy,
  type TestStack,
  upstreamRequests,
} from './helpers.ts'

const database = `dauth_sec_${randomBytes(6).toString('hex')}`
const admin = () =>
  new pg.Client({ connectionString: 'postgres://postgres@127.0.0.1:5432/postgres' })

let t: TestStack
let asProxy: TcpProxy
let mcpProxy: TcpProxy
let pgProxy: TcpProxy
let redisProxy: TcpProxy
let flow: DemoFlowResult
const extra: ServiceInstance[] = []

before(async () => {
  const client = admin()
  await client.connect()
  await client.query(`CREATE DATABASE ${database}`)
  await client.end()
  pgProxy = await startTcpProxy([5432])
  redisProxy = await startTcpProxy([6379])
  const [as1, as2, mcp1, mcp2] = [
    await freePort(),
    await freePort(),
    await freePort(),
    await freePort(),
  ]
  asProxy = await startTcpProxy([as1, as2])
  mcpProxy = await startTcpProxy([mcp1, mcp2])
  t = await startTestStack({
    ports: { as: asProxy.port, mcp: mcpProxy.port },
    listenPorts: { as: as1, mcp: mcp1 },
    env: {
      DATABASE_URL: `postgres://postgres@127.0.0.1:${pgProxy.port}/${database}`,
      REDIS_URL: `redis://127.0.0.1:${redisProxy.port}`,
    },
  })
  extra.push(await t.stack.startInstance('as', { port: as2 }))
  extra.push(await t.stack.startInstance('mcp', { port: mcp2 }))
})

after(async () => {
  await t?.close()
  for (const proxy of [asProxy, mcpProxy, pgProxy, redisProxy]) await proxy?.close()
  const client = admin()
  await client.connect()
  await client.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`)
  await client.end()
})

describe('scale-out: two AS and two MCP instances over PostgreSQL and Redis', () => {
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
