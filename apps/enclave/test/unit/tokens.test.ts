/**
 * Dispatch-token verification with the per-token cache: a token that passed is remembered
 * by its exact string until `exp` (+5 s tolerance) and refused afterwards; the clock is
 * injected.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { DispatchRefusal } from '../../src/errors.ts'
import { DispatchTokenVerifier } from '../../src/worker/tokens.ts'
import { makeEnclaveClientKey, startStubAs } from '../fixtures/stubAs.ts'
import type { StubAs } from '../fixtures/stubAs.ts'

const AUD = 'http://enclave.test'
let as: StubAs
let clock = 1_800_000_000

before(async () => {
  as = await startStubAs(await makeEnclaveClientKey())
})
after(async () => {
  await as?.close()
})

function claims(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    iss: as.issuer,
    sub: 'alice',
    aud: AUD,
    iat: clock,
    exp: clock + 60,
    jti: 'j1',
    cnf: { jkt: 'thumb' },
    connections: { demo: 'h_1' },
    ...overrides,
  }
}

describe('DispatchTokenVerifier', () => {
  it('remembers a verified token until exp + 5 s, then refuses it', async () => {
    const verifier = new DispatchTokenVerifier({
      issuer: as.issuer,
      audience: AUD,
      jwksUri: () => Promise.resolve(`${as.issuer}/jwks`),
      now: () => clock,
    })
    const token = await as.signToken(claims())
    const expected = {
      sub: 'alice',
      jkt: 'thumb',
      connections: { demo: 'h_1' },
      jti: 'j1',
      exp: clock + 60,
    }
    assert.deepEqual(await verifier.verify(token), expected)
    const jwksFetches = as.counts.jwks
    clock += 64
    assert.deepEqual(await verifier.verify(token), expected) // within the tolerance
    assert.equal(as.counts.jwks, jwksFetches)
    clock += 1 // exp + 5: expired
    await assert.rejects(verifier.verify(token), (error: unknown) => {
      assert.ok(error instanceof DispatchRefusal)
      assert.equal(error.code, 'invalid_token')
      return true
    })
  })

  it('never serves a cached result for a different token string', async () => {
    const verifier = new DispatchTokenVerifier({
      issuer: as.issuer,
      audience: AUD,
      jwksUri: () => Promise.resolve(`${as.issuer}/jwks`),
      now: () => clock,
    })
    const token = await as.signToken(claims())
    await verifier.verify(token)
    const [h, p, sig] = token.split('.')
    const forged = `${h}.${Buffer.from(JSON.stringify(claims({ sub: 'mallory' }))).toString('base64url')}.${sig}`
    assert.notEqual(p, forged.split('.')[1])
    await assert.rejects(verifier.verify(forged), { code: 'invalid_token' })
  })
})
