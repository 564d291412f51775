/**
 * RFC 9068 JWT access-token validation on cached `KeyObject`s with `node:crypto` — one
 * signature verification per request and no key import (this runs on every MCP request).
 *
 * @module
 */
import { verifyJwsSignature } from '@dauth/protocol'
import { AuthorizationServerMetadataCache } from './discovery.ts'
import { type CachedKey, JwksCache } from './jwks.ts'

/** Algorithms accepted for access tokens by default. Never `none` nor `HS*`. */
export const DEFAULT_TOKEN_ALGORITHMS: readonly string[] = ['ES256', 'EdDSA', 'RS256', 'PS256']

/** Claims of a verified access token (RFC 9068 §2.2 plus DAuth's `connections`). */
export interface VerifiedClaims {
  iss: string
  sub: string
  aud: string | string[]
  exp: number
  iat: number
  nbf?: number
  jti?: string
  client_id?: string
  scope?: string
  cnf?: { jkt?: string; [member: string]: unknown }
  connections?: Record<string, string>
  act?: { sub: string }
  [claim: string]: unknown
}

/** Why a token was refused (log-only detail; every reason is `invalid_token` on the wire). */
export type TokenFailureReason =
  | 'malformed'
  | 'alg_not_allowed'
  | 'typ'
  | 'unknown_kid'
  | 'key_mismatch'
  | 'signature'
  | 'iss'
  | 'aud'
  | 'exp'
  | 'nbf'
  | 'iat'
  | 'claims'
  | 'jwks_unavailable'

/** Tagged result of {@link AuthorizationProvider.verifyAccessToken}. */
export type TokenVerification =
  | { ok: true; claims: VerifiedClaims }
  | { ok: false; reason: TokenFailureReason }

/**
 * Anything that can verify an access token for this resource server. Implement it to plug
 * in an external AS (introspection, another JWT profile…) with
 * `server.setAuthorizationProvider(provider)`.
 *
 * @example
 * ```ts
 * server.setAuthorizationProvider({
 *   async verifyAccessToken(token) { return token === 'ok' ? { ok: true, claims } : { ok: false, reason: 'signature' } },
 * })
 * ```
 */
export interface AuthorizationProvider {
  verifyAccessToken(token: string): Promise<TokenVerification>
}

/** Options of {@link JWTValidator}. */
export interface JWTValidatorOptions {
  /** The exact `iss` required. */
  issuer: string
  /** The `aud` required (one of them must be in the token's `aud`). Pass `null` to skip the check (not recommended). */
  audience: string | readonly string[] | null
  /** JWKS URL; discovered from the issuer's RFC 8414 metadata when omitted. */
  jwksUri?: string
  /** Allowed `alg`s (default ES256, EdDSA, RS256, PS256). `none` and `HS*` are always refused. */
  algorithms?: readonly string[]
  /** Leeway for `exp` / `nbf` in seconds (default 5). */
  clockToleranceSeconds?: number
  /** How far in the future `iat` may be, in seconds (default 60). */
  maxFutureIatSeconds?: number
  /** Seconds the JWKS and metadata are cached (default 300). */
  cacheTtlSeconds?: number
  /** Minimum seconds between JWKS refreshes on an unknown `kid` (default 30). */
  jwksRefreshIntervalSeconds?: number
  /**
   * Accepted `typ` header values, compared case-insensitively (default `at+jwt` and
   * `application/at+jwt`, RFC 9068 §2.1). Providers that sign access tokens as plain JWTs need
   * `['jwt']` (Keycloak, Auth0 without its RFC 9068 profile). `null` skips the check, for
   * providers whose access tokens carry no `typ` at all (Okta): then `audience` is what keeps an
   * ID token (whose `aud` is a client id) out, so `null` is refused together with `audience: null`.
   */
  types?: readonly string[] | null
  /**
   * Claims the granted scopes are read from, in order; each may be a space-separated string or
   * an array of strings, and their union becomes `claims.scope` (a space-separated string, the
   * RFC 9068 form every check here uses). Default `['scope', 'scp']` (`scp`: Okta's array,
   * Microsoft Entra's string). Auth0's RBAC permissions: `['scope', 'permissions']`.
   */
  scopeClaims?: readonly string[]
  /**
   * Check signatures on libuv's thread pool (default `true`): the event loop serves other
   * requests meanwhile, at the price of one hop to the pool and back per check. `false`
   * checks them in place — lower latency when requests come one at a time.
   */
  offloadSignatures?: boolean
  fetch?: typeof fetch
  /** Clock in milliseconds (tests). */
  now?: () => number
}

// The token algorithms this validator accepts (a subset of what @dauth/protocol verifies),
// with the JWKS key family each one needs.
const FAMILY_OF: Record<string, CachedKey['family']> = {
  ES256: 'P-256',
  RS256: 'RSA',
  PS256: 'RSA',
  EdDSA: 'Ed25519',
}

interface DecodedJwt {
  header: Record<string, unknown>
  payload: Record<string, unknown>
  signingInput: Buffer
  signature: Buffer
}

const B64URL = /^[A-Za-z0-9_-]+$/

/** Split and decode a compact JWS without verifying it. `undefined` when malformed. */
export function decodeCompactJwt(token: string): DecodedJwt | undefined {
  const first = token.indexOf('.')
  const second = token.indexOf('.', first + 1)
  if (first <= 0 || second <= first + 1 || token.indexOf('.', second + 1) !== -1) return undefined
  const h = token.slice(0, first)
  const p = token.slice(first + 1, second)
  const s = token.slice(second + 1)
  if (!B64URL.test(h) || !B64URL.test(p) || !B64URL.test(s)) return undefined
  try {
    const header = JSON.parse(Buffer.from(h, 'base64url').toString('utf8')) as unknown
    const payload = JSON.parse(Buffer.from(p, 'base64url').toString('utf8')) as unknown
    if (typeof header !== 'object' || header === null || Array.isArray(header)) return undefined
    if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) return undefined
    return {
      header: header as Record<string, unknown>,
      payload: payload as Record<string, unknown>,
      signingInput: Buffer.from(token.slice(0, second), 'ascii'),
      signature: Buffer.from(s, 'base64url'),
    }
  } catch {
    return undefined
  }
}

const VERIFIED_CACHE_MAX = 4096

/**
 * Validates RFC 9068 JWT access tokens of one issuer: signature by the issuer's JWKS (cached
 * `KeyObject`s, refreshed on an unknown `kid` with single-flight and a rate limit), `alg`
 * allow-list, `typ`, `iss`, `aud`, `exp` / `nbf` with leeway, `iat` not in the future.
 *
 * @example
 * ```ts
 * server.setAuthorizationProvider(new JWTValidator({
 *   jwksUri: 'https://as.example/jwks', issuer: 'https://as.example', audience: 'https://mcp.example/mcp',
 * }))
 * ```
 */
export class JWTValidator implements AuthorizationProvider {
  readonly #issuer: string
  readonly #audience: readonly string[] | null
  readonly #algorithms: ReadonlySet<string>
  readonly #tolerance: number
  readonly #maxFutureIat: number
  readonly #types: ReadonlySet<string> | null
  readonly #scopeClaims: readonly string[]
  readonly #offload: boolean
  readonly #now: () => number
  readonly #jwks: JwksCache
  /** Signature results of recently verified tokens: a repeated token skips `crypto.verify`. */
  readonly #verified = new Map<string, VerifiedClaims>()

  constructor(options: JWTValidatorOptions) {
    this.#issuer = options.issuer
    this.#audience =
      options.audience === null
        ? null
        : typeof options.audience === 'string'
          ? [options.audience]
          : [...options.audience]
    this.#algorithms = new Set(
      (options.algorithms ?? DEFAULT_TOKEN_ALGORITHMS).filter((alg) =>
        Object.hasOwn(FAMILY_OF, alg),
      ),
    )
    this.#tolerance = options.clockToleranceSeconds ?? 5
    this.#maxFutureIat = options.maxFutureIatSeconds ?? 60
    if (options.types === null && options.audience === null) {
      // Nothing would tell an ID token from an access token any more.
      throw new TypeError('JWTValidator: types: null needs an audience')
    }
    this.#types =
      options.types === null
        ? null
        : new Set((options.types ?? ['at+jwt', 'application/at+jwt']).map((t) => t.toLowerCase()))
    this.#scopeClaims = options.scopeClaims ?? ['scope', 'scp']
    this.#offload = options.offloadSignatures !== false
    this.#now = options.now ?? Date.now
    const fetchImpl = options.fetch ?? fetch
    const jwksUri = options.jwksUri
    let jwksSource: string | (() => Promise<string>)
    if (jwksUri !== undefined) {
      jwksSource = jwksUri
    } else {
      const metadata = new AuthorizationServerMetadataCache({
        fetch: fetchImpl,
        now: this.#now,
        ...(options.cacheTtlSeconds !== undefined ? { ttlSeconds: options.cacheTtlSeconds } : {}),
      })
      jwksSource = async () => {
        const document = await metadata.get(options.issuer)
        if (typeof document.jwks_uri !== 'string') throw new Error('no jwks_uri')
        return document.jwks_uri
      }
    }
    this.#jwks = new JwksCache({
      jwksUri: jwksSource,
      fetch: fetchImpl,
      now: this.#now,
      ...(options.cacheTtlSeconds !== undefined
        ? { cacheTtlSeconds: options.cacheTtlSeconds }
        : {}),
      ...(options.jwksRefreshIntervalSeconds !== undefined
        ? { minRefreshIntervalSeconds: options.jwksRefreshIntervalSeconds }
        : {}),
    })
  }

  /** The issuer this validator accepts. */
  get issuer(): string {
    return this.#issuer
  }

  /** Number of JWKS fetches so far (observability; the unknown-`kid` flood test reads it). */
  get jwksFetchCount(): number {
    return this.#jwks.fetchCount
  }

  /** Verify `token`; never throws. */
  async verifyAccessToken(token: string): Promise<TokenVerification> {
    const cached = this.#verified.get(token)
    if (cached) {
      const timeFailure = this.#checkTimes(cached)
      if (timeFailure) {
        this.#verified.delete(token)
        return { ok: false, reason: timeFailure }
      }
      return { ok: true, claims: cached }
    }
    const decoded = decodeCompactJwt(token)
    if (!decoded) return { ok: false, reason: 'malformed' }
    const { header, payload } = decoded
    const alg = header.alg
    if (typeof alg !== 'string' || !this.#algorithms.has(alg)) {
      return { ok: false, reason: 'alg_not_allowed' }
    }
    if (
      this.#types !== null &&
      (typeof header.typ !== 'string' || !this.#types.has(header.typ.toLowerCase()))
    ) {
      return { ok: false, reason: 'typ' }
    }
    if (header.crit !== undefined) return { ok: false, reason: 'malformed' }
    // Cheap claim checks first: a token for another issuer never costs a JWKS fetch.
    if (payload.iss !== this.#issuer) return { ok: false, reason: 'iss' }
    const kid = header.kid
    if (kid !== undefined && typeof kid !== 'string') return { ok: false, reason: 'malformed' }
    const lookup = await this.#jwks.getKey(kid)
    if (!lookup.ok) return { ok: false, reason: lookup.reason }
    const key = lookup.key
    if (key.family !== FAMILY_OF[alg] || (key.alg !== undefined && key.alg !== alg)) {
      return { ok: false, reason: 'key_mismatch' }
    }
    const offload = this.#offload
    if (
      !(await verifyJwsSignature(alg, key.key, decoded.signingInput, decoded.signature, {
        offload,
      }))
    ) {
      return { ok: false, reason: 'signature' }
    }
    const claims = this.#checkClaims(payload)
    if (typeof claims === 'string') return { ok: false, reason: claims }
    if (this.#verified.size >= VERIFIED_CACHE_MAX) {
      const oldest = this.#verified.keys().next()
      if (!oldest.done) this.#verified.delete(oldest.value)
    }
    this.#verified.set(token, claims)
    return { ok: true, claims }
  }

  #checkClaims(payload: Record<string, unknown>): VerifiedClaims | TokenFailureReason {
    const { sub, exp, iat, nbf, aud, cnf, connections } = payload
    if (typeof sub !== 'string' || typeof exp !== 'number' || typeof iat !== 'number') {
      return 'claims'
    }
    if (nbf !== undefined && typeof nbf !== 'number') return 'claims'
    const scopes = new Set<string>()
    for (const name of this.#scopeClaims) {
      const value = payload[name]
      if (value === undefined) continue
      const list = typeof value === 'string' ? value.split(' ') : value
      if (!Array.isArray(list) || !list.every((s): s is string => typeof s === 'string')) {
        return 'claims'
      }
      for (const scope of list) if (scope !== '') scopes.add(scope)
    }
    if (cnf !== undefined && (typeof cnf !== 'object' || cnf === null)) return 'claims'
    if (connections !== undefined && (typeof connections !== 'object' || connections === null)) {
      return 'claims'
    }
    const audiences = typeof aud === 'string' ? [aud] : Array.isArray(aud) ? aud : undefined
    if (this.#audience !== null) {
      if (!audiences || !audiences.some((value) => this.#audience?.includes(value as string))) {
        return 'aud'
      }
    }
    const claims = payload as VerifiedClaims
    if (scopes.size > 0 || payload.scope !== undefined) claims.scope = [...scopes].join(' ')
    return this.#checkTimes(claims) ?? claims
  }

  #checkTimes(claims: VerifiedClaims): TokenFailureReason | undefined {
    const now = Math.floor(this.#now() / 1000)
    if (claims.exp <= now - this.#tolerance) return 'exp'
    if (claims.nbf !== undefined && claims.nbf > now + this.#tolerance) return 'nbf'
    if (claims.iat > now + this.#maxFutureIat) return 'iat'
    return undefined
  }
}

/**
 * The default provider: accepts tokens of any of the configured authorization servers, each
 * validated by its own {@link JWTValidator} (JWKS discovered from RFC 8414 metadata).
 */
export class MultiIssuerValidator implements AuthorizationProvider {
  readonly #validators: Map<string, JWTValidator>
  readonly #only: JWTValidator | undefined

  constructor(validators: readonly JWTValidator[]) {
    this.#validators = new Map(validators.map((validator) => [validator.issuer, validator]))
    this.#only = this.#validators.size === 1 ? validators[0] : undefined
  }

  /** The per-issuer validators (observability). */
  get validators(): readonly JWTValidator[] {
    return [...this.#validators.values()]
  }

  async verifyAccessToken(token: string): Promise<TokenVerification> {
    // One issuer (the usual set-up): its validator checks `iss` itself, so the payload need
    // not be decoded here first — that would be a second JSON parse on every request.
    if (this.#only !== undefined) return this.#only.verifyAccessToken(token)
    const dot = token.indexOf('.')
    const second = token.indexOf('.', dot + 1)
    if (dot <= 0 || second <= dot) return { ok: false, reason: 'malformed' }
    let iss: unknown
    try {
      iss = (
        JSON.parse(Buffer.from(token.slice(dot + 1, second), 'base64url').toString('utf8')) as {
          iss?: unknown
        }
      ).iss
    } catch {
      return { ok: false, reason: 'malformed' }
    }
    const validator = typeof iss === 'string' ? this.#validators.get(iss) : undefined
    if (!validator) return { ok: false, reason: 'iss' }
    return validator.verifyAccessToken(token)
  }
}
