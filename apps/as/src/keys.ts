import { createPrivateKey, generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto'
import { calculateJwkThumbprint, createLocalJWKSet, type JSONWebKeySet, type JWK } from 'jose'
import type { MetaStore } from './storage/types.ts'

export const SIGNING_ALG = 'ES256'

function generateSigningJwk(): string {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  const jwk = privateKey.export({ format: 'jwk' })
  return JSON.stringify(jwk)
}

/**
 * The stored key set (`dauth_meta` row `signing_jwks`): private JWKs, newest first, and the
 * time (seconds) from which each staged key may sign. A key without an entry signs from the
 * moment it is stored.
 */
interface StoredKeySet {
  keys: JWK[]
  activation?: Record<string, number>
}

/**
 * The AS's signing keys: persisted; the newest key whose activation time has come signs,
 * every key verifies and is published (a staged key is published before it signs, so that
 * every instance and resource server knows it first).
 */
export interface SigningKeys {
  /** Private JWKS handed to oidc-provider (`jwks`). */
  readonly privateJwks: { keys: JWK[] }
  /** Public JWKS (what `/oauth/jwks` serves). */
  readonly publicJwks: JSONWebKeySet
  readonly current: { kid: string; key: KeyObject }
  /** Key resolver for jose `jwtVerify` of the AS's own tokens. */
  readonly verificationKeys: ReturnType<typeof createLocalJWKSet>
  /** The stored value these keys were read from: a reload compares it to see a rotation. */
  readonly version: string
}

const nowSeconds = (): number => Math.floor(Date.now() / 1000)
const isActive = (set: StoredKeySet, kid: string | undefined, now: number): boolean =>
  (set.activation?.[kid ?? ''] ?? 0) <= now

/**
 * Loads the persisted ES256 signing JWKS, generating it on the very first start
 * (never regenerated afterwards, so `kid`s stay stable across restarts and instances).
 */
export async function loadSigningKeys(
  meta: MetaStore,
  now: () => number = nowSeconds,
): Promise<SigningKeys> {
  const stored = await meta.getOrCreate('signing_jwks', () => {
    const jwk = JSON.parse(generateSigningJwk()) as JWK
    return JSON.stringify({ keys: [jwk] })
  })
  const parsed = JSON.parse(stored) as StoredKeySet
  const at = now()
  const keys: JWK[] = []
  for (const jwk of parsed.keys) {
    const kid = jwk.kid ?? (await calculateJwkThumbprint(jwk))
    keys.push({ ...jwk, kid, alg: SIGNING_ALG, use: 'sig' })
  }
  // The newest active key signs; a set that somehow has none falls back to the newest key
  // rather than to no key at all (rotateSigningKeys never stores such a set).
  const signing = keys.find((jwk) => isActive(parsed, jwk.kid, at)) ?? keys[0]
  if (!signing?.kid) throw new Error('no signing key')
  // oidc-provider signs with the first key of its JWKS that fits the algorithm: the signing
  // key goes first, the rest keep their order (all of them are published and verify).
  const ordered = [signing, ...keys.filter((jwk) => jwk !== signing)]
  const publicJwks: JSONWebKeySet = { keys: ordered.map(({ d: _d, ...pub }) => pub) }
  return {
    privateJwks: { keys: ordered },
    publicJwks,
    current: { kid: signing.kid, key: createPrivateKey({ key: signing, format: 'jwk' }) },
    verificationKeys: createLocalJWKSet(publicJwks),
    version: stored,
  }
}

/** A persisted random secret (base64url), e.g. cookie keys and the DPoP nonce secret. */
export async function loadSecret(meta: MetaStore, name: string, bytes = 32): Promise<Buffer> {
  const value = await meta.getOrCreate(name, () => randomBytes(bytes).toString('base64url'))
  return Buffer.from(value, 'base64url')
}

/** How many signing keys the JWKS keeps: the current one plus retired ones still verifying. */
export const MAX_SIGNING_KEYS = 3

/** Options of {@link rotateSigningKeys}. */
export interface RotateSigningKeysOptions {
  /**
   * Seconds during which the new key is published but does not sign yet (default 0: it signs
   * as soon as an instance reloads). With several AS instances or resource servers that cache
   * the JWKS, stage the key for longer than the reload interval and their JWKS cache time, so
   * that no one meets a token signed by a key it has not seen.
   */
  activateAfterSeconds?: number
  /** Clock in seconds (tests). */
  now?: () => number
}

/**
 * Rotates the signing keys: a new ES256 key is stored, published at once and signing from
 * `activateAfterSeconds` on; the previous ones stay in the JWKS (verification only) until
 * pushed out after {@link MAX_SIGNING_KEYS} — but the newest key that already signs is never
 * pushed out by staged ones. Running instances pick the change up on their next key reload
 * (`DAUTH_AS_KEYS_RELOAD_SECONDS`). Returns the new key's `kid`.
 */
export async function rotateSigningKeys(
  meta: MetaStore,
  options: RotateSigningKeysOptions = {},
): Promise<string> {
  const delay = options.activateAfterSeconds ?? 0
  if (!Number.isSafeInteger(delay) || delay < 0) {
    throw new RangeError('activateAfterSeconds must be a whole number of seconds, 0 or more')
  }
  const now = (options.now ?? nowSeconds)()
  for (let attempt = 0; attempt < 5; attempt++) {
    const current = await meta.getOrCreate('signing_jwks', () =>
      JSON.stringify({ keys: [JSON.parse(generateSigningJwk())] }),
    )
    const parsed = JSON.parse(current) as StoredKeySet
    const fresh = JSON.parse(generateSigningJwk()) as JWK
    const kid = await calculateJwkThumbprint(fresh)
    const next: StoredKeySet = {
      keys: [{ ...fresh, kid }, ...parsed.keys],
      activation: { ...parsed.activation, ...(delay > 0 ? { [kid]: now + delay } : {}) },
    }
    let kept = next.keys.slice(0, MAX_SIGNING_KEYS)
    if (!kept.some((jwk) => isActive(next, jwk.kid, now))) {
      const signing = next.keys.find((jwk) => isActive(next, jwk.kid, now))
      if (signing) kept = [...kept.slice(0, MAX_SIGNING_KEYS - 1), signing]
    }
    // Activation times of keys gone or already active are history: drop them.
    const activation = Object.fromEntries(
      Object.entries(next.activation ?? {}).filter(
        ([k, t]) => t > now && kept.some((jwk) => jwk.kid === k),
      ),
    )
    const value: StoredKeySet = {
      keys: kept,
      ...(Object.keys(activation).length > 0 ? { activation } : {}),
    }
    if (await meta.replace('signing_jwks', current, JSON.stringify(value))) return kid
  }
  throw new Error('signing keys changed concurrently; try again')
}
