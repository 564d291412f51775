/**
 * A JSON Web Key Set cache holding ready `KeyObject`s by `kid`, so that the per-request path
 * is one `crypto.verify` and no key import. Unknown `kid`s trigger a refresh that is
 * single-flight and rate limited: a flood of tokens with random `kid`s costs at most one
 * JWKS fetch per `minRefreshIntervalSeconds` (THREATS.md "Tokens").
 *
 * @module
 */
import { createPublicKey, type KeyObject } from 'node:crypto'

/** A key of the set, imported once. */
export interface CachedKey {
  kid: string | undefined
  key: KeyObject
  /** `ES256` / `EdDSA` / `RS256` / `PS256`-compatible family of the key. */
  family: 'P-256' | 'Ed25519' | 'RSA'
  alg: string | undefined
}

/** Options of {@link JwksCache}. */
export interface JwksCacheOptions {
  /** The JWKS URL, or a function resolving it (e.g. from AS metadata discovery). */
  jwksUri: string | (() => Promise<string>)
  /** Seconds a fetched set is trusted (default 300). After that a failed refresh drops it. */
  cacheTtlSeconds?: number
  /** Minimum seconds between refreshes triggered by an unknown `kid` (default 30). */
  minRefreshIntervalSeconds?: number
  fetch?: typeof fetch
  /** Clock in milliseconds (tests). */
  now?: () => number
}

/** Result of {@link JwksCache.getKey}. */
export type KeyLookup =
  | { ok: true; key: CachedKey }
  | { ok: false; reason: 'unknown_kid' | 'jwks_unavailable' }

function importJwk(jwk: Record<string, unknown>): CachedKey | undefined {
  if (jwk.use !== undefined && jwk.use !== 'sig') return undefined
  let family: CachedKey['family']
  if (jwk.kty === 'EC' && jwk.crv === 'P-256') family = 'P-256'
  else if (jwk.kty === 'OKP' && jwk.crv === 'Ed25519') family = 'Ed25519'
  else if (jwk.kty === 'RSA') family = 'RSA'
  else return undefined
  // Import only the public members: a set that leaks a private key must not make us sign-capable.
  const publicJwk: Record<string, unknown> = { kty: jwk.kty }
  for (const member of ['crv', 'x', 'y', 'n', 'e']) {
    if (jwk[member] !== undefined) publicJwk[member] = jwk[member]
  }
  try {
    const key = createPublicKey({
      key: publicJwk,
      format: 'jwk',
    })
    if (family === 'RSA' && (key.asymmetricKeyDetails?.modulusLength ?? 0) < 2048) return undefined
    return {
      kid: typeof jwk.kid === 'string' ? jwk.kid : undefined,
      key,
      family,
      alg: typeof jwk.alg === 'string' ? jwk.alg : undefined,
    }
  } catch {
    return undefined
  }
}

/**
 * Cache of one JWKS endpoint.
 *
 * @example
 * ```ts
 * const jwks = new JwksCache({ jwksUri: 'http://localhost:4000/jwks' })
 * const found = await jwks.getKey('key-1')
 * ```
 */
export class JwksCache {
  readonly #options: JwksCacheOptions
  readonly #ttlMs: number
  readonly #minIntervalMs: number
  readonly #now: () => number
  #keys: CachedKey[] = []
  #fetchedAt = Number.NEGATIVE_INFINITY
  #lastAttemptAt = Number.NEGATIVE_INFINITY
  #inflight: Promise<void> | undefined
  /** Number of JWKS HTTP fetches started (observability and tests). */
  fetchCount = 0

  constructor(options: JwksCacheOptions) {
    this.#options = options
    this.#ttlMs = (options.cacheTtlSeconds ?? 300) * 1000
    this.#minIntervalMs = (options.minRefreshIntervalSeconds ?? 30) * 1000
    this.#now = options.now ?? Date.now
  }

  /**
   * The key for `kid` (or the only key when the token names none). Refreshes when the set is
   * older than the TTL, or once per interval when `kid` is unknown.
   */
  async getKey(kid: string | undefined): Promise<KeyLookup> {
    const now = this.#now()
    if (now - this.#fetchedAt >= this.#ttlMs) {
      await this.#refresh()
      if (this.#now() - this.#fetchedAt >= this.#ttlMs) {
        // Expired and the refresh failed: never keep trusting a set past its TTL.
        this.#keys = []
        return { ok: false, reason: 'jwks_unavailable' }
      }
    }
    let found = this.#find(kid)
    if (found) return { ok: true, key: found }
    if (this.#inflight) {
      await this.#inflight
    } else if (this.#now() - this.#lastAttemptAt >= this.#minIntervalMs) {
      await this.#refresh()
    }
    found = this.#find(kid)
    return found ? { ok: true, key: found } : { ok: false, reason: 'unknown_kid' }
  }

  #find(kid: string | undefined): CachedKey | undefined {
    if (kid === undefined) return this.#keys.length === 1 ? this.#keys[0] : undefined
    return this.#keys.find((key) => key.kid === kid)
  }

  #refresh(): Promise<void> {
    this.#inflight ??= this.#load().finally(() => {
      this.#inflight = undefined
    })
    return this.#inflight
  }

  async #load(): Promise<void> {
    this.#lastAttemptAt = this.#now()
    try {
      const uri =
        typeof this.#options.jwksUri === 'string'
          ? this.#options.jwksUri
          : await this.#options.jwksUri()
      this.fetchCount += 1
      const response = await (this.#options.fetch ?? fetch)(uri, {
        headers: { accept: 'application/jwk-set+json, application/json' },
        redirect: 'error',
        signal: AbortSignal.timeout(10_000),
      })
      if (!response.ok) {
        await response.body?.cancel()
        return
      }
      const body = (await response.json()) as { keys?: unknown }
      if (!Array.isArray(body.keys)) return
      const keys: CachedKey[] = []
      for (const jwk of body.keys as unknown[]) {
        if (typeof jwk !== 'object' || jwk === null) continue
        const imported = importJwk(jwk as Record<string, unknown>)
        if (imported) keys.push(imported)
      }
      this.#keys = keys
      this.#fetchedAt = this.#now()
    } catch {
      // Keep the previous set until its TTL; the caller decides.
    }
  }
}
