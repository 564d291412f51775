// THREATS.md "DPoP": every row over real HTTP, exact status and challenges.
import assert from 'node:assert/strict'
import { createHmac, generateKeyPairSync, randomUUID } from 'node:crypto'
import { after, before, describe, test } from 'node:test'
import { accessTokenHash } from '@dauth/protocol'
import { startFixture, type Fixture } from './fixtures.ts'
import {
  callMcp,
  type CallResult,
  createDpopProof,
  es256Signer,
  generateDpopKeyPair,
  mintToken,
  nowSeconds,
  rawDpopKey,
  rawJws,
  rawRequest,
  toolCall,
} from './helpers.ts'

function assertInvalidProof(f: Fixture, r: CallResult): void {
  assert.equal(r.status, 401)
  assert.deepEqual(r.challenges, [
    { scheme: 'Bearer', params: { resource_metadata: f.metadataUrl } },
    {
      scheme: 'DPoP',
      params: {
        error: 'invalid_dpop_proof',
        error_description: 'Invalid DPoP proof',
        algs: 'ES256 EdDSA',
        resource_metadata: f.metadataUrl,
      },
    },
  ])
  assert.deepEqual(r.json, { error: 'invalid_dpop_proof', error_description: 'Invalid DPoP proof' })
}

describe('DPoP (required)', () => {
  let f: Fixture
  before(async () => {
    f = await startFixture({ dpopRequired: true })
  })
  after(() => f.close())

  async function bound() {
    const dpop = await generateDpopKeyPair()
    const token = await mintToken(f.as, f.url, { claims: { cnf: { jkt: dpop.jkt } } })
    return { dpop, token }
  }

  test('a bound token with a fresh proof reaches the tool (ES256 and EdDSA)', async () => {
    for (const alg of ['ES256', 'EdDSA'] as const) {
      const dpop = await generateDpopKeyPair(alg)
      const token = await mintToken(f.as, f.url, { claims: { cnf: { jkt: dpop.jkt } } })
      const r = await callMcp(f.url, { token, dpop, body: toolCall('echo', { text: alg }) })
      assert.equal(r.status, 200)
      assert.deepEqual(r.message?.result, { content: [{ type: 'text', text: alg }] })
    }
  })

  test('PRM says DPoP-bound tokens are required', async () => {
    const doc = (await (await fetch(f.metadataUrl)).json()) as Record<string, unknown>
    assert.equal(doc.dpop_bound_access_tokens_required, true)
    assert.deepEqual(doc.dpop_signing_alg_values_supported, ['ES256', 'EdDSA'])
  })

  test('a DPoP-bound token sent as Bearer: 401 invalid_token', async () => {
    const { token } = await bound()
    const r = await callMcp(f.url, { token, scheme: 'Bearer' })
    assert.equal(r.status, 401)
    assert.deepEqual(r.challenges[0], {
      scheme: 'Bearer',
      params: {
        error: 'invalid_token',
        error_description: 'DPoP-bound access token required',
        resource_metadata: f.metadataUrl,
      },
    })
  })

  test('a plain Bearer token while DPoP is required: 401', async () => {
    const token = await mintToken(f.as, f.url)
    const r = await callMcp(f.url, { token, scheme: 'Bearer' })
    assert.equal(r.status, 401)
    assert.equal(r.challenges[0]?.params.error, 'invalid_token')
  })

  test('an unbound token with the DPoP scheme: 401 invalid_token on the DPoP challenge', async () => {
    const dpop = await generateDpopKeyPair()
    const token = await mintToken(f.as, f.url)
    const r = await callMcp(f.url, { token, dpop })
    assert.equal(r.status, 401)
    assert.deepEqual(r.challenges[1], {
      scheme: 'DPoP',
      params: {
        error: 'invalid_token',
        error_description: 'Invalid access token',
        algs: 'ES256 EdDSA',
        resource_metadata: f.metadataUrl,
      },
    })
  })

  test('no proof: 401 invalid_dpop_proof', async () => {
    const { token } = await bound()
    assertInvalidProof(f, await callMcp(f.url, { token, scheme: 'DPoP' }))
  })

  test('two DPoP headers: 401 invalid_dpop_proof', async () => {
    const { dpop, token } = await bound()
    const p1 = await createDpopProof(dpop, { htm: 'POST', htu: f.url, accessToken: token })
    const p2 = await createDpopProof(dpop, { htm: 'POST', htu: f.url, accessToken: token })
    const r = await rawRequest(f.url, {
      headers: [
        ['host', new URL(f.url).host],
        ['content-type', 'application/json'],
        ['accept', 'application/json, text/event-stream'],
        ['authorization', `DPoP ${token}`],
        ['dpop', p1],
        ['dpop', p2],
      ],
      body: JSON.stringify(toolCall('echo', { text: 'x' })),
    })
    assert.equal(r.status, 401)
    assert.equal(
      r.headers['www-authenticate'],
      `Bearer resource_metadata="${f.metadataUrl}", DPoP error="invalid_dpop_proof", error_description="Invalid DPoP proof", algs="ES256 EdDSA", resource_metadata="${f.metadataUrl}"`,
    )
  })

  test('proof signed by another key than cnf.jkt: 401 invalid_dpop_proof', async () => {
    const { token } = await bound()
    const other = await generateDpopKeyPair()
    assertInvalidProof(f, await callMcp(f.url, { token, dpop: other }))
  })

  test('wrong htm: 401', async () => {
    const { dpop, token } = await bound()
    const proof = await createDpopProof(dpop, { htm: 'GET', htu: f.url, accessToken: token })
    assertInvalidProof(f, await callMcp(f.url, { token, scheme: 'DPoP', proof }))
  })

  for (const variant of ['/mcp/', '/MCP', '/other', '/other?x=/mcp', '/mcp/..', ':1/mcp']) {
    test(`wrong htu ${variant}: 401`, async () => {
      const { dpop, token } = await bound()
      const base = new URL(f.url)
      const htu = variant.startsWith(':')
        ? `http://${base.hostname}${variant}`
        : `${base.origin}${variant}`
      const proof = await createDpopProof(dpop, { htm: 'POST', htu, accessToken: token })
      assertInvalidProof(f, await callMcp(f.url, { token, scheme: 'DPoP', proof }))
    })
  }

  test('htu of another scheme (https): 401', async () => {
    const { dpop, token } = await bound()
    const proof = await createDpopProof(dpop, {
      htm: 'POST',
      htu: f.url.replace('http:', 'https:'),
      accessToken: token,
    })
    assertInvalidProof(f, await callMcp(f.url, { token, scheme: 'DPoP', proof }))
  })

  test('htu normalisation (RFC 9449 §4.3): query dropped, host case-insensitive', async () => {
    const { dpop, token } = await bound()
    const upper = f.url.replace('localhost', 'LOCALHOST')
    const proof = await createDpopProof(dpop, {
      htm: 'POST',
      htu: `${upper}?q=1#f`,
      accessToken: token,
    })
    const r = await callMcp(f.url, { token, scheme: 'DPoP', proof })
    assert.equal(r.status, 200)
  })

  test('missing ath: 401; wrong ath: 401', async () => {
    const { dpop, token } = await bound()
    const noAth = await createDpopProof(dpop, { htm: 'POST', htu: f.url })
    assertInvalidProof(f, await callMcp(f.url, { token, scheme: 'DPoP', proof: noAth }))
    const wrongAth = await createDpopProof(dpop, {
      htm: 'POST',
      htu: f.url,
      accessToken: `${token}x`,
    })
    assertInvalidProof(f, await callMcp(f.url, { token, scheme: 'DPoP', proof: wrongAth }))
  })

  test('replayed jti (same proof twice): second is 401', async () => {
    const { dpop, token } = await bound()
    const proof = await createDpopProof(dpop, { htm: 'POST', htu: f.url, accessToken: token })
    assert.equal((await callMcp(f.url, { token, scheme: 'DPoP', proof })).status, 200)
    assertInvalidProof(f, await callMcp(f.url, { token, scheme: 'DPoP', proof }))
  })

  test('replayed jti after 10,000 other proofs: 401', async () => {
    const { dpop, token } = await bound()
    const first = await createDpopProof(dpop, { htm: 'POST', htu: f.url, accessToken: token })
    assert.equal((await callMcp(f.url, { token, scheme: 'DPoP', proof: first })).status, 200)
    // 10,000 other accepted proofs through the core (no sockets, same replay store).
    const proofs = await Promise.all(
      Array.from({ length: 10_000 }, () =>
        createDpopProof(dpop, { htm: 'POST', htu: f.url, accessToken: token }),
      ),
    )
    let accepted = 0
    const reasons = new Set<string>()
    for (const proof of proofs) {
      const result = await f.server.authorize({
        method: 'POST',
        url: f.url,
        headers: { authorization: `DPoP ${token}`, dpop: proof },
      })
      if (result.ok) accepted++
      else reasons.add(JSON.stringify(result.failure))
    }
    assert.equal(accepted, 10_000, [...reasons].join(' '))
    // A fresh connection (the long loop may have outlived a pooled keep-alive socket).
    const replay = await rawRequest(f.url, {
      headers: [
        ['host', new URL(f.url).host],
        ['content-type', 'application/json'],
        ['accept', 'application/json, text/event-stream'],
        ['authorization', `DPoP ${token}`],
        ['dpop', first],
      ],
      body: JSON.stringify(toolCall('echo', { text: 'x' })),
    })
    assert.equal(replay.status, 401)
    assert.match(replay.headers['www-authenticate'] ?? '', /DPoP error="invalid_dpop_proof"/)
  })

  test('stale iat and future iat: 401', async () => {
    const { dpop, token } = await bound()
    const stale = await createDpopProof(dpop, {
      htm: 'POST',
      htu: f.url,
      accessToken: token,
      iat: nowSeconds() - 600,
    })
    assertInvalidProof(f, await callMcp(f.url, { token, scheme: 'DPoP', proof: stale }))
    const future = await createDpopProof(dpop, {
      htm: 'POST',
      htu: f.url,
      accessToken: token,
      iat: nowSeconds() + 120,
    })
    assertInvalidProof(f, await callMcp(f.url, { token, scheme: 'DPoP', proof: future }))
  })

  test('private key material inside the proof jwk: 401', async () => {
    const key = rawDpopKey()
    const privateJwk = key.privateKey.export({ format: 'jwk' })
    const { calculateJwkThumbprint } = await import('@dauth/protocol')
    const jkt = await calculateJwkThumbprint(key.jwk)
    const token = await mintToken(f.as, f.url, { claims: { cnf: { jkt } } })
    const payload = {
      jti: randomUUID(),
      htm: 'POST',
      htu: f.url,
      iat: nowSeconds(),
      ath: accessTokenHash(token),
    }
    const leaky = rawJws(
      { typ: 'dpop+jwt', alg: 'ES256', jwk: privateJwk },
      payload,
      es256Signer(key.privateKey),
    )
    assertInvalidProof(f, await callMcp(f.url, { token, scheme: 'DPoP', proof: leaky }))
    // Control: the same construction with the public jwk is accepted.
    const ok = rawJws(
      { typ: 'dpop+jwt', alg: 'ES256', jwk: key.jwk },
      { ...payload, jti: randomUUID() },
      es256Signer(key.privateKey),
    )
    assert.equal((await callMcp(f.url, { token, scheme: 'DPoP', proof: ok })).status, 200)
  })

  test('symmetric alg (HS256) proof: 401', async () => {
    const { token } = await bound()
    const payload = {
      jti: randomUUID(),
      htm: 'POST',
      htu: f.url,
      iat: nowSeconds(),
      ath: accessTokenHash(token),
    }
    const proof = rawJws(
      { typ: 'dpop+jwt', alg: 'HS256', jwk: { kty: 'oct', k: 'c2VjcmV0' } },
      payload,
      (input) => createHmac('sha256', 'secret').update(input).digest(),
    )
    assertInvalidProof(f, await callMcp(f.url, { token, scheme: 'DPoP', proof }))
  })
})

// `offloadSignatures: false` checks both signatures on the event loop instead of the thread
// pool: the same verdicts, each of them exercised through that other code path.
describe('signatures checked in place (offloadSignatures: false)', () => {
  let f: Fixture
  before(async () => {
    f = await startFixture({ dpopRequired: true, offloadSignatures: false })
  })
  after(() => f.close())

  test('a bound token with a fresh proof reaches the tool; the same proof again is a replay', async () => {
    const dpop = await generateDpopKeyPair()
    const token = await mintToken(f.as, f.url, { claims: { cnf: { jkt: dpop.jkt } } })
    const proof = await createDpopProof(dpop, { htm: 'POST', htu: f.url, accessToken: token })
    const body = toolCall('echo', { text: 'in place' })
    const r = await callMcp(f.url, { token, scheme: 'DPoP', proof, body })
    assert.equal(r.status, 200)
    assert.deepEqual(r.message?.result, { content: [{ type: 'text', text: 'in place' }] })
    assertInvalidProof(f, await callMcp(f.url, { token, scheme: 'DPoP', proof, body }))
  })

  test('a token signed by another key under the same kid: 401 invalid_token', async () => {
    const dpop = await generateDpopKeyPair()
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
    const token = await mintToken(f.as, f.url, {
      key: privateKey,
      claims: { cnf: { jkt: dpop.jkt } },
    })
    const r = await callMcp(f.url, { token, dpop })
    assert.equal(r.status, 401)
    assert.deepEqual(r.json, { error: 'invalid_token', error_description: 'Invalid access token' })
  })

  test('a proof whose signature was altered: 401 invalid_dpop_proof', async () => {
    const dpop = await generateDpopKeyPair()
    const token = await mintToken(f.as, f.url, { claims: { cnf: { jkt: dpop.jkt } } })
    const proof = await createDpopProof(dpop, { htm: 'POST', htu: f.url, accessToken: token })
    const [h, p, sig = ''] = proof.split('.')
    const bytes = Buffer.from(sig, 'base64url')
    bytes[0] = (bytes[0] ?? 0) ^ 1
    const altered = `${h}.${p}.${bytes.toString('base64url')}`
    assertInvalidProof(f, await callMcp(f.url, { token, scheme: 'DPoP', proof: altered }))
  })
})

describe('DPoP nonces', () => {
  let f: Fixture
  let clock = 0
  before(async () => {
    clock = Date.now()
    f = await startFixture({
      dpopRequired: true,
      dpopNonce: { windowSeconds: 60 },
      now: () => clock,
    })
  })
  after(() => f.close())

  test('missing nonce: 401 use_dpop_nonce with DPoP-Nonce; retry with it succeeds', async () => {
    const dpop = await generateDpopKeyPair()
    const token = await mintToken(f.as, f.url, { claims: { cnf: { jkt: dpop.jkt } } })
    const r = await callMcp(f.url, { token, dpop })
    assert.equal(r.status, 401)
    const nonce = r.headers.get('dpop-nonce')
    assert.match(nonce ?? '', /^[A-Za-z0-9_-]{43}$/)
    assert.deepEqual(r.challenges[1], {
      scheme: 'DPoP',
      params: {
        error: 'use_dpop_nonce',
        error_description: 'Resource server requires nonce in DPoP proof',
        algs: 'ES256 EdDSA',
        resource_metadata: f.metadataUrl,
      },
    })
    const proof = await createDpopProof(dpop, {
      htm: 'POST',
      htu: f.url,
      accessToken: token,
      nonce: nonce!,
    })
    assert.equal((await callMcp(f.url, { token, scheme: 'DPoP', proof })).status, 200)
  })

  test('old nonce: 401 use_dpop_nonce with a new DPoP-Nonce; stale iat carries DPoP-Nonce too', async () => {
    const dpop = await generateDpopKeyPair()
    const token = await mintToken(f.as, f.url, {
      claims: { cnf: { jkt: dpop.jkt }, exp: Math.floor(clock / 1000) + 3600 },
    })
    const first = await callMcp(f.url, { token, dpop })
    const old = first.headers.get('dpop-nonce')!
    clock += 180_000 // three windows later
    const proof = await createDpopProof(dpop, {
      htm: 'POST',
      htu: f.url,
      accessToken: token,
      nonce: old,
      iat: Math.floor(clock / 1000),
    })
    const r = await callMcp(f.url, { token, scheme: 'DPoP', proof })
    assert.equal(r.status, 401)
    assert.equal(r.challenges[1]?.params.error, 'use_dpop_nonce')
    const fresh = r.headers.get('dpop-nonce')!
    assert.notEqual(fresh, old)
    const stale = await createDpopProof(dpop, {
      htm: 'POST',
      htu: f.url,
      accessToken: token,
      nonce: fresh,
      iat: Math.floor(clock / 1000) - 600,
    })
    const r2 = await callMcp(f.url, { token, scheme: 'DPoP', proof: stale })
    assert.equal(r2.status, 401)
    assert.equal(r2.challenges[1]?.params.error, 'invalid_dpop_proof')
    assert.equal(r2.headers.get('dpop-nonce'), fresh)
  })
})
