// JWKS cache: unknown-kid floods, key rotation, endpoint down (THREATS.md "Tokens", "Faults").
import assert from 'node:assert/strict'
import { generateKeyPairSync } from 'node:crypto'
import { after, before, describe, test } from 'node:test'
import type { JWK } from 'jose'
import { startFixture, type Fixture } from './fixtures.ts'
import { callMcp, mintToken, toolCall } from './helpers.ts'

describe('JWKS cache', () => {
  let f: Fixture
  let clock = 0
  before(async () => {
    clock = Date.now()
    f = await startFixture({
      dpopRequired: false,
      now: () => clock,
      cacheTtl: 300,
      jwksRefreshIntervalSeconds: 30,
    })
  })
  after(() => f.close())

  test('a flood of unknown kids triggers at most one JWKS fetch per interval', async () => {
    const good = await mintToken(f.as, f.url)
    assert.equal((await callMcp(f.url, { token: good })).status, 200)
    assert.equal(f.as.jwksFetches, 1)
    const flood = await Promise.all(
      Array.from({ length: 100 }, (_, i) =>
        mintToken(f.as, f.url, { header: { kid: `random-${i}` } }),
      ),
    )
    const concurrent = await Promise.all(
      flood.slice(0, 50).map((token) => callMcp(f.url, { token })),
    )
    for (const token of flood.slice(50)) {
      const r = await callMcp(f.url, { token })
      assert.equal(r.status, 401)
      assert.equal(r.challenges[0]?.params.error, 'invalid_token')
    }
    assert.deepEqual(new Set(concurrent.map((r) => r.status)), new Set([401]))
    // The initial fetch was less than 30 s ago: the flood causes no fetch at all.
    assert.equal(f.as.jwksFetches, 1)
    clock += 31_000
    await Promise.all(flood.slice(0, 20).map((token) => callMcp(f.url, { token })))
    assert.equal(f.as.jwksFetches, 2)
  })

  test('a rotated-in key is picked up on its first use (unknown kid refresh)', async () => {
    clock += 31_000
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
    f.as.extraKeys = [
      { ...(publicKey.export({ format: 'jwk' }) as JWK), kid: 'rotated', alg: 'ES256' },
    ]
    const token = await mintToken(f.as, f.url, { key: privateKey, header: { kid: 'rotated' } })
    const r = await callMcp(f.url, { token, body: toolCall('echo', { text: 'rotated' }) })
    assert.equal(r.status, 200)
    f.as.extraKeys = []
  })

  test('JWKS down: cached keys work until the TTL, then 503 (never unverified)', async () => {
    clock += 31_000
    f.as.jwksDown = true
    const token = await mintToken(f.as, f.url, { claims: { exp: Math.floor(clock / 1000) + 3600 } })
    assert.equal((await callMcp(f.url, { token })).status, 200)
    clock += 301_000
    const fresh = await mintToken(f.as, f.url, {
      claims: { iat: Math.floor(clock / 1000), exp: Math.floor(clock / 1000) + 60 },
    })
    const r = await callMcp(f.url, { token: fresh })
    assert.equal(r.status, 503)
    assert.deepEqual(r.json, {
      error: 'temporarily_unavailable',
      error_description: 'Authorization temporarily unavailable',
    })
    assert.equal(r.headers.get('www-authenticate'), null)
    f.as.jwksDown = false
    clock += 31_000
    assert.equal((await callMcp(f.url, { token: fresh })).status, 200)
  })
})
