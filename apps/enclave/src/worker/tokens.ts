import { createRemoteJWKSet, errors as joseErrors, jwtVerify } from 'jose'
import type { JWTVerifyGetKey } from 'jose'
import { DispatchRefusal } from '../errors.ts'

/**
 * Dispatch-token checks (RFC 9068 + wire.md "Token exchange for dispatch"): signature by the
 * AS JWKS (cached; an unknown `kid` refetches at most once per cooldown so a flood of unknown
 * kids cannot hammer the AS), `typ` at+jwt, `iss`, `aud` = the enclave URL, `exp`, `iat` not
 * in the future, a `cnf.jkt` binding and a `connections` object.
 */
export interface DispatchTokenClaims {
  sub: string
  jkt: string
  connections: Record<string, string>
  jti: string
  exp: number
}

export const TOKEN_ALGORITHMS = ['ES256', 'ES384', 'EdDSA', 'Ed25519', 'PS256', 'RS256']

export interface VerifierOptions {
  issuer: string
  audience: string
  jwksUri: () => Promise<string>
  cooldownMs?: number
  now?: () => number
}

/** Verified tokens remembered (by exact token string) until they expire; bounded. */
const VERIFIED_CACHE_MAX = 1024
const CLOCK_TOLERANCE_SECONDS = 5

export class DispatchTokenVerifier {
  readonly #opts: VerifierOptions
  #jwks?: { uri: string; getKey: ReturnType<typeof createRemoteJWKSet> }
  readonly #verified = new Map<string, DispatchTokenClaims>()

  constructor(opts: VerifierOptions) {
    this.#opts = opts
  }

  async #getKeySet(): Promise<ReturnType<typeof createRemoteJWKSet>> {
    const uri = await this.#opts.jwksUri()
    if (this.#jwks?.uri !== uri) {
      this.#jwks = {
        uri,
        getKey: createRemoteJWKSet(new URL(uri), {
          cooldownDuration: this.#opts.cooldownMs ?? 30_000,
          cacheMaxAge: 10 * 60_000,
          timeoutDuration: 5_000,
        }),
      }
    }
    return this.#jwks.getKey
  }

  /**
   * Verifies a dispatch token. A token that passed every check is remembered until its
   * `exp` (same tolerance), so an MCP server reusing one token for several calls pays for
   * one signature check; the DPoP proof (single use) is still checked on every call.
   */
  async verify(token: string): Promise<DispatchTokenClaims> {
    const nowSeconds = this.#opts.now?.() ?? Math.floor(Date.now() / 1000)
    const cached = this.#verified.get(token)
    if (cached) {
      if (cached.exp + CLOCK_TOLERANCE_SECONDS > nowSeconds) return cached
      this.#verified.delete(token)
    }
    const claims = await this.#verify(token, nowSeconds)
    if (this.#verified.size >= VERIFIED_CACHE_MAX) {
      for (const [key, value] of this.#verified) {
        if (value.exp + CLOCK_TOLERANCE_SECONDS <= nowSeconds) this.#verified.delete(key)
      }
      const oldest = this.#verified.keys().next()
      if (this.#verified.size >= VERIFIED_CACHE_MAX && !oldest.done)
        this.#verified.delete(oldest.value)
    }
    this.#verified.set(token, claims)
    return claims
  }

  async #verify(token: string, nowSeconds: number): Promise<DispatchTokenClaims> {
    let keySet: ReturnType<typeof createRemoteJWKSet>
    try {
      keySet = await this.#getKeySet()
    } catch {
      throw new DispatchRefusal('temporarily_unavailable', 'as_metadata')
    }
    const getKey: JWTVerifyGetKey = (header, input) => keySet(header, input)
    let payload: Record<string, unknown>
    try {
      const now = this.#opts.now?.()
      const result = await jwtVerify(token, getKey, {
        issuer: this.#opts.issuer,
        audience: this.#opts.audience,
        typ: 'at+jwt',
        algorithms: TOKEN_ALGORITHMS,
        clockTolerance: CLOCK_TOLERANCE_SECONDS,
        requiredClaims: ['exp', 'iat', 'sub'],
        ...(now !== undefined ? { currentDate: new Date(now * 1000) } : {}),
      })
      payload = result.payload
    } catch (error) {
      if (error instanceof joseErrors.JWKSTimeout || !(error instanceof joseErrors.JOSEError)) {
        throw new DispatchRefusal('temporarily_unavailable', 'jwks_fetch')
      }
      const code = (error as { code?: string }).code ?? 'jwt'
      throw new DispatchRefusal('invalid_token', code)
    }
    const { sub, iat, exp, cnf, connections, jti } = payload as {
      sub?: unknown
      iat?: unknown
      exp?: unknown
      cnf?: { jkt?: unknown }
      connections?: unknown
      jti?: unknown
    }
    if (typeof sub !== 'string' || sub.length === 0)
      throw new DispatchRefusal('invalid_token', 'sub')
    if (typeof iat !== 'number' || iat > nowSeconds + 60)
      throw new DispatchRefusal('invalid_token', 'iat_future')
    if (typeof exp !== 'number') throw new DispatchRefusal('invalid_token', 'exp')
    if (typeof cnf !== 'object' || cnf === null || typeof cnf.jkt !== 'string')
      throw new DispatchRefusal('invalid_token', 'cnf')
    if (typeof connections !== 'object' || connections === null || Array.isArray(connections)) {
      throw new DispatchRefusal('invalid_token', 'connections')
    }
    const conns: Record<string, string> = {}
    for (const [name, handle] of Object.entries(connections as Record<string, unknown>)) {
      if (typeof handle === 'string') conns[name] = handle
    }
    return { sub, jkt: cnf.jkt, connections: conns, jti: typeof jti === 'string' ? jti : '', exp }
  }
}
