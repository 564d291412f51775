// Two instances sharing Redis refuse a proof replayed across them (THREATS.md "DPoP").
import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { after, before, describe, test } from 'node:test'
import { Redis } from 'ioredis'
import { MCPServer } from '../src/index.ts'
import { testTools } from './fixtures.ts'
import {
  callMcp,
  createDpopProof,
  generateDpopKeyPair,
  mintToken,
  rawRequest,
  type StubAs,
  startStubAs,
  toolCall,
} from './helpers.ts'

describe('RedisReplayStore across two instances', () => {
  const prefix = `test:mcp:${randomUUID()}:`
  let as: StubAs
  let a: { url: string; port: number; close(): Promise<void> }
  let b: { url: string; port: number; close(): Promise<void> }
  let redis: Redis
  before(async () => {
    as = await startStubAs()
    redis = new Redis('redis://127.0.0.1:6379')
    const first = new MCPServer('a', {
      authorization: {
        authorizationServers: [as.issuer],
        redisUrl: 'redis://127.0.0.1:6379',
        redisPrefix: prefix,
      },
    })
    first.collect(...testTools())
    a = await first.serve()
    // The second instance serves the same resource behind "the load balancer".
    const second = new MCPServer('b', {
      resourceUrl: a.url,
      authorization: {
        authorizationServers: [as.issuer],
        redisUrl: 'redis://127.0.0.1:6379',
        redisPrefix: prefix,
      },
      transportSecurity: { allowedHosts: [new URL(a.url).host] },
    })
    second.collect(...testTools())
    b = await second.serve({ port: 0, host: '127.0.0.1' })
    const address = await fetch(new URL('/.well-known/oauth-protected-resource/mcp', a.url))
    assert.equal(address.status, 200)
  })
  after(async () => {
    const keys = await redis.keys(`${prefix}*`)
    if (keys.length > 0) await redis.del(...keys)
    await redis.quit()
    await a.close()
    await b.close()
    await as.close()
  })

  test('a proof used at instance A is refused at instance B', async () => {
    const dpop = await generateDpopKeyPair()
    const token = await mintToken(as, a.url, { claims: { cnf: { jkt: dpop.jkt } } })
    const proof = await createDpopProof(dpop, { htm: 'POST', htu: a.url, accessToken: token })
    const atA = await callMcp(a.url, {
      token,
      scheme: 'DPoP',
      proof,
      body: toolCall('echo', { text: 'a' }),
    })
    assert.equal(atA.status, 200)
    assert.ok((await redis.keys(`${prefix}*`)).length >= 1)
    // Same request, sent to B's socket with A's Host (what a load balancer forwards).
    const bUrl = `http://127.0.0.1:${b.port}/mcp`
    assert.notEqual(b.port, a.port)
    const toB = (dpopProof: string) =>
      rawRequest(bUrl, {
        headers: [
          ['host', new URL(a.url).host],
          ['authorization', `DPoP ${token}`],
          ['dpop', dpopProof],
          ['content-type', 'application/json'],
          ['accept', 'application/json, text/event-stream'],
        ],
        body: JSON.stringify(toolCall('echo', { text: 'b' })),
      })
    const r = await toB(proof)
    assert.equal(r.status, 401)
    assert.match(r.headers['www-authenticate'] ?? '', /DPoP error="invalid_dpop_proof"/)
    // A fresh proof is accepted at B: the refusal was the replay, nothing else.
    const fresh = await createDpopProof(dpop, { htm: 'POST', htu: a.url, accessToken: token })
    assert.equal((await toB(fresh)).status, 200)
  })
})

describe('Redis unreachable', () => {
  test('fails closed with 503 temporarily_unavailable (not a hang, not fail-open)', async () => {
    const as = await startStubAs()
    const server = new MCPServer('down', {
      authorization: {
        authorizationServers: [as.issuer],
        redisUrl: 'redis://127.0.0.1:1',
        redisPrefix: 'unused:',
      },
    })
    server.collect(...testTools())
    const running = await server.serve()
    try {
      const dpop = await generateDpopKeyPair()
      const token = await mintToken(as, running.url, { claims: { cnf: { jkt: dpop.jkt } } })
      const r = await callMcp(running.url, { token, dpop, body: toolCall('echo', { text: 'x' }) })
      assert.equal(r.status, 503)
      assert.deepEqual(r.json, {
        error: 'temporarily_unavailable',
        error_description: 'Authorization temporarily unavailable',
      })
    } finally {
      await running.close()
      await as.close()
    }
  })
})
