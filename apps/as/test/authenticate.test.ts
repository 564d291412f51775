// authenticateDpopRequest keeps the signature results of tokens it verified (the enclave
// presents one token for minutes): the cache must never outlive `exp`, never serve another
// audience, and never skip the proof.
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { createDpopProof, generateDpopKeyPair, MemoryReplayStore } from '@dauth/protocol'
import { SignJWT } from 'jose'
import { loadSigningKeys } from '../src/keys.ts'
import { authenticateDpopRequest, type AuthenticateOptions } from '../src/tokens/authenticate.ts'
import type { MetaStore } from '../src/storage/types.ts'

const ISSUER = 'http://localhost:4000'
const AUDIENCE = `${ISSUER}/enclave`
const URL_ = `${ISSUER}/enclave/envelopes/hdl_x`

function memoryMeta(): MetaStore {
  const values = new Map<string, string>()
  return {
    getOrCreate: (name, create) => {
      if (!values.has(name)) values.set(name, create())
      return Promise.resolve(values.get(name)!)
    },
    replace: (name, expected, next) => {
      if (values.get(name) !== expected) return Promise.resolve(false)
      values.set(name, next)
      return Promise.resolve(true)
    },
  }
}

describe('authenticateDpopRequest: the verified-token cache', async () => {
  const keys = await loadSigningKeys(memoryMeta())
  const dpop = await generateDpopKeyPair()
  const t0 = Math.floor(Date.now() / 1000)
  const token = await new SignJWT({ scope: 'envelopes:read', cnf: { jkt: dpop.jkt } })
    .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: keys.current.kid })
    .setIssuer(ISSUER)
    .setAudience(AUDIENCE)
    .setSubject('dauth-enclave')
    .setIssuedAt(t0)
    .setExpirationTime(t0 + 60)
    .sign(keys.current.key)
  let now = t0
  const options = (audience = AUDIENCE): AuthenticateOptions => ({
    issuer: ISSUER,
    audience,
    keys,
    replay: new MemoryReplayStore(),
    now: () => now,
    requiredScope: 'envelopes:read',
  })
  const request = async (proof?: string) => ({
    method: 'GET',
    url: URL_,
    rawHeaders: [
      'authorization',
      `DPoP ${token}`,
      'dpop',
      proof ??
        (await createDpopProof(dpop, { htm: 'GET', htu: URL_, accessToken: token, iat: now })),
    ],
  })

  test('a token verified once is accepted again with a fresh proof', async () => {
    const opts = options()
    assert.equal((await authenticateDpopRequest(await request(), opts)).sub, 'dauth-enclave')
    assert.equal((await authenticateDpopRequest(await request(), opts)).sub, 'dauth-enclave')
  })

  test('the proof is still checked on a cached token: a replay is refused', async () => {
    const opts = options()
    const proof = await createDpopProof(dpop, {
      htm: 'GET',
      htu: URL_,
      accessToken: token,
      iat: now,
    })
    await authenticateDpopRequest(await request(proof), opts)
    await assert.rejects(authenticateDpopRequest(await request(proof), opts), {
      error: 'invalid_dpop_proof',
      description: 'Invalid DPoP proof',
    })
  })

  test('another audience is not served from the cache', async () => {
    await assert.rejects(
      authenticateDpopRequest(await request(), options(`${ISSUER}/connections`)),
      {
        error: 'invalid_token',
        description: 'Invalid access token',
      },
    )
  })

  test('a cached token is refused once it expires', async () => {
    const opts = options()
    await authenticateDpopRequest(await request(), opts)
    now = t0 + 60
    try {
      await assert.rejects(authenticateDpopRequest(await request(), opts), {
        error: 'invalid_token',
        description: 'Invalid access token',
      })
    } finally {
      now = t0
    }
  })
})
