import { createPrivateKey, generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto'
import { calculateJwkThumbprint, createLocalJWKSet, type JSONWebKeySet, type JWK } from 'jose'
import type { MetaStore } from './storage/types.ts'

export const SIGNING_ALG = 'ES256'

function generateSigningJwk(): string {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  const jwk = privateKey.export({ format: 'jwk' })
  return JSON.stringify(jwk)
}

/** The AS's signing keys: persisted, first key signs, all keys verify. */
export interface SigningKeys {
  /** Private JWKS handed to oidc-provider (`jwks`). */
  readonly privateJwks: { keys: JWK[] }
  /** Public JWKS (what `/oauth/jwks` serves). */
  readonly publicJwks: JSONWebKeySet
  readonly current: { kid: string; key: KeyObject }
  /** Key resolver for jose `jwtVerify` of the AS's own tokens. */
  readonly verificationKeys: ReturnType<typeof createLocalJWKSet>
}

/**
 * Loads the persisted ES256 signing JWKS, generating it on the very first start
 * (never regenerated afterwards, so `kid`s stay stable across restarts and instances).
 */
export async function loadSigningKeys(meta: MetaStore): Promise<SigningKeys> {
  const stored = await meta.getOrCreate('signing_jwks', () => {
    const jwk = JSON.parse(generateSigningJwk()) as JWK
    return JSON.stringify({ keys: [jwk] })
  })
  const parsed = JSON.parse(stored) as { keys: JWK[] }
  const keys: JWK[] = []
  for (const jwk of parsed.keys) {
    const kid = jwk.kid ?? (await calculateJwkThumbprint(jwk))
    keys.push({ ...jwk, kid, alg: SIGNING_ALG, use: 'sig' })
  }
  const first = keys[0]
  if (!first?.kid) throw new Error('no signing key')
  const publicKeys = keys.map(({ d: _d, ...pub }) => pub)
  const publicJwks: JSONWebKeySet = { keys: publicKeys }
  return {
    privateJwks: { keys },
    publicJwks,
    current: { kid: first.kid, key: createPrivateKey({ key: first, format: 'jwk' }) },
    verificationKeys: createLocalJWKSet(publicJwks),
  }
}

/** A persisted random secret (base64url), e.g. cookie keys and the DPoP nonce secret. */
export async function loadSecret(meta: MetaStore, name: string, bytes = 32): Promise<Buffer> {
  const value = await meta.getOrCreate(name, () => randomBytes(bytes).toString('base64url'))
  return Buffer.from(value, 'base64url')
}

/** How many signing keys the JWKS keeps: the current one plus retired ones still verifying. */
export const MAX_SIGNING_KEYS = 3

/**
 * Rotates the signing keys: a new ES256 key becomes current; the previous ones stay in the
 * JWKS (verification only) until pushed out after {@link MAX_SIGNING_KEYS}. Running
 * instances pick the new key up on restart. Returns the new key's `kid`.
 */
export async function rotateSigningKeys(meta: MetaStore): Promise<string> {
  for (let attempt = 0; attempt < 5; attempt++) {
    const current = await meta.getOrCreate('signing_jwks', () =>
      JSON.stringify({ keys: [JSON.parse(generateSigningJwk())] }),
    )
    const parsed = JSON.parse(current) as { keys: JWK[] }
    const fresh = JSON.parse(generateSigningJwk()) as JWK
    const kid = await calculateJwkThumbprint(fresh)
    const keys = [{ ...fresh, kid }, ...parsed.keys].slice(0, MAX_SIGNING_KEYS)
    if (await meta.replace('signing_jwks', current, JSON.stringify({ keys }))) return kid
  }
  throw new Error('signing keys changed concurrently; try again')
}
