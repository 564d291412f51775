import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { after, before, beforeEach, describe, it } from 'node:test'
import { generateDpopKeyPair, verifyDpopProof, type DpopKeyPair } from '@dauth/protocol'
import { authFetch, BearerAuth, DPoPAuth, UnauthorizedError } from '@dauth/sdk-client'
import { decodeJwt, header, json, startStub, type StubServer } from './helpers/http.ts'

describe('BearerAuth / DPoPAuth through authFetch', () => {
  let stub: StubServer
  let mode: 'ok' | 'nonce-once' | 'nonce-always' = 'ok'
  let key: DpopKeyPair
  const served: string[] = []
  before(async () => {
    key = await generateDpopKeyPair()
    stub = await startStub(async (_req, res, rec) => {
      const proof = header(rec, 'dpop')
      if (proof !== undefined) {
        const nonceRequired =
          mode === 'nonce-always' || (mode === 'nonce-once' && !served.includes('nonce'))
        const nonce = mode === 'nonce-always' ? `n-${stub.requests.length}` : 'rs-nonce'
        try {
          await verifyDpopProof(proof, {
            htm: rec.method,
            htu: `${stub.url}${rec.path}`,
            accessToken: 'tok-1',
            expectedJkt: key.jkt,
            ...(nonceRequired || mode === 'nonce-once' ? { nonce, requireNonce: true } : {}),
          })
        } catch {
          return json(
            res,
            401,
            { error: 'use_dpop_nonce' },
            {
              'www-authenticate': 'DPoP error="use_dpop_nonce", error_description="nonce required"',
              'dpop-nonce': nonce,
            },
          )
        }
      }
      served.push(mode === 'nonce-once' ? 'nonce' : 'ok')
      json(res, 200, { ok: true })
    })
  })
  beforeEach(() => {
    stub.requests.length = 0
    served.length = 0
  })
  after(() => stub.close())

  it('BearerAuth sends Authorization: Bearer and no DPoP header', async () => {
    mode = 'ok'
    const response = await authFetch(BearerAuth({ accessToken: 'tok-1' }))(`${stub.url}/api`)
    assert.equal(response.status, 200)
    assert.equal(header(stub.requests[0]!, 'authorization'), 'Bearer tok-1')
    assert.equal(header(stub.requests[0]!, 'dpop'), undefined)
  })

  it('DPoPAuth sends a fresh proof per request with htm, htu (no query) and ath', async () => {
    mode = 'ok'
    const f = authFetch(DPoPAuth({ key, accessToken: 'tok-1' }))
    await f(`${stub.url}/api?x=1#frag`, { method: 'POST', body: '{}' })
    await f(`${stub.url}/api?x=2`, { method: 'POST', body: '{}' })
    assert.equal(stub.requests.length, 2)
    const proofs = stub.requests.map((r) => decodeJwt(header(r, 'dpop')!))
    for (const [i, request] of stub.requests.entries()) {
      assert.equal(header(request, 'authorization'), 'DPoP tok-1')
      assert.equal(proofs[i]!.payload.htm, 'POST')
      assert.equal(proofs[i]!.payload.htu, `${stub.url}/api`)
      assert.equal(proofs[i]!.payload.ath, createHash('sha256').update('tok-1').digest('base64url'))
      assert.equal(proofs[i]!.payload.nonce, undefined)
      assert.deepEqual(proofs[i]!.header.jwk, key.publicJwk)
    }
    assert.notEqual(proofs[0]!.payload.jti, proofs[1]!.payload.jti)
  })

  it('retries once on use_dpop_nonce and remembers the nonce for the origin', async () => {
    mode = 'nonce-once'
    const f = authFetch(DPoPAuth({ key, tokenSource: () => 'tok-1' }))
    const first = await f(`${stub.url}/api`, { method: 'POST', body: 'a' })
    assert.equal(first.status, 200)
    const second = await f(`${stub.url}/other`, { method: 'GET' })
    assert.equal(second.status, 200)
    const nonces = stub.requests.map((r) => decodeJwt(header(r, 'dpop')!).payload.nonce)
    assert.deepEqual(nonces, [undefined, 'rs-nonce', 'rs-nonce'])
    assert.deepEqual(
      stub.requests.map((r) => r.body),
      ['a', 'a', ''],
    )
  })

  it('does not retry a second time when the server keeps asking for a nonce', async () => {
    mode = 'nonce-always'
    const f = authFetch(DPoPAuth({ key, accessToken: 'tok-1' }))
    await assert.rejects(f(`${stub.url}/api`), (e: unknown) => {
      assert.ok(e instanceof UnauthorizedError)
      assert.equal(e.code, 'ERR_UNAUTHORIZED')
      assert.equal(e.error, 'use_dpop_nonce')
      assert.ok(!e.message.includes('tok-1'))
      return true
    })
    assert.equal(stub.requests.length, 2)
  })
})
