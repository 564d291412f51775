/**
 * Dispatch through the enclave (ARCHITECTURE.md §4, wire.md "Token exchange for dispatch"):
 * connection name → handle from the token's `connections` claim → RFC 8693 token exchange
 * at the AS (client_secret_basic + DPoP proof of this server's key), cached per
 * (subject token, handle) until 10 s before expiry → `POST <enclave>/dispatch` with
 * `Authorization: DPoP` and a proof carrying `ath`.
 *
 * @module
 */
import { createHash } from 'node:crypto'
import {
  ACCESS_TOKEN_TYPE,
  createDpopProof,
  type DpopKeyPair,
  generateDpopKeyPair,
  parseWwwAuthenticate,
  TOKEN_EXCHANGE_GRANT_TYPE,
} from '@dauth/protocol'
import { AuthorizationServerMetadataCache } from '../authorization/discovery.ts'
import type { VerifiedClaims } from '../authorization/jwt.ts'
import { DispatchError } from '../errors.ts'
import { outboundHeaders } from '../observability/outbound.ts'

/** The upstream request to make (ARCHITECTURE.md §3 `request`). */
export interface DispatchRequest {
  method: string
  /** Must start with a single `/`. */
  path: string
  /** One of the connection's allowed hosts (default: the first). */
  host?: string
  query?: Readonly<Record<string, string | readonly string[]>>
  headers?: Readonly<Record<string, string>>
  body?: string
}

/** The enclave's answer (wire.md "Enclave"). */
export interface DispatchResponse {
  status: number
  headers: Record<string, string>
  body: string
  /** `base64` when the upstream body was not UTF-8. */
  body_encoding?: 'base64'
}

/** Options of dispatch (`MCPServer` option `dispatch`). */
export interface DispatchOptions {
  /** Enclave base URL (`DAUTH_ENCLAVE_URL`); also the `resource` of the exchanged token. */
  enclaveUrl: string
  /** This MCP server's confidential client at the AS (client_secret_basic). */
  clientId: string
  clientSecret: string
  /** Token endpoint; discovered from the subject token's issuer metadata when omitted. */
  tokenEndpoint?: string
  /** This server's DPoP key; an ES256 key is generated at first use when omitted. */
  dpopKey?: DpopKeyPair
  /** Seconds before expiry at which a cached dispatch token is no longer used (default 10). */
  refreshSkewSeconds?: number
  /** Timeout of the enclave call in ms (default 35 000: the enclave's upstream limit is 30 s). */
  timeoutMs?: number
  fetch?: typeof fetch
  /** Clock in milliseconds (tests). */
  now?: () => number
}

/** The caller whose token is exchanged. */
export interface DispatchSubject {
  token: string
  claims: VerifiedClaims
}

interface CachedToken {
  token: string
  expiresAt: number
}

const MAX_CACHED_TOKENS = 10_000

/**
 * Dispatch client bound to one MCP server's credentials and DPoP key.
 *
 * @example
 * ```ts
 * const client = new DispatchClient({ enclaveUrl, clientId, clientSecret })
 * const answer = await client.dispatch(subject, 'demo', { method: 'GET', path: '/user' })
 * ```
 */
export class DispatchClient {
  readonly #options: DispatchOptions
  readonly #fetch: typeof fetch
  readonly #now: () => number
  readonly #metadata: AuthorizationServerMetadataCache
  readonly #tokens = new Map<string, CachedToken>()
  readonly #inflight = new Map<string, Promise<CachedToken>>()
  /** Latest `DPoP-Nonce` per origin (RFC 9449 §8). */
  readonly #nonces = new Map<string, string>()
  #key: Promise<DpopKeyPair> | undefined

  constructor(options: DispatchOptions) {
    this.#options = options
    this.#fetch = options.fetch ?? fetch
    this.#now = options.now ?? Date.now
    this.#metadata = new AuthorizationServerMetadataCache({ fetch: this.#fetch, now: this.#now })
    if (options.dpopKey) this.#key = Promise.resolve(options.dpopKey)
  }

  /** This server's DPoP key (generated once when not configured). */
  dpopKey(): Promise<DpopKeyPair> {
    const key = this.#key ?? generateDpopKeyPair('ES256')
    this.#key = key
    return key
  }

  /**
   * Exchange the subject's token for a dispatch token and call the enclave.
   *
   * @throws DispatchError
   */
  async dispatch(
    subject: DispatchSubject,
    connection: string,
    request: DispatchRequest,
  ): Promise<DispatchResponse> {
    const connections = subject.claims.connections
    const handle =
      connections && Object.hasOwn(connections, connection) ? connections[connection] : undefined
    if (typeof handle !== 'string' || handle === '') {
      throw new DispatchError(
        'ERR_CONNECTION_UNAVAILABLE',
        `Connection "${connection}" is not available to this caller`,
      )
    }
    const cacheKey = `${subject.claims.jti ?? createHash('sha256').update(subject.token).digest('base64url')}\n${handle}`
    let token = await this.#dispatchToken(cacheKey, subject, handle)
    let answer = await this.#callEnclave(token.token, handle, request)
    if (answer.status === 401 && answer.error === 'invalid_token') {
      // The cached token was refused (revoked, key rotation): exchange once more.
      this.#tokens.delete(cacheKey)
      token = await this.#dispatchToken(cacheKey, subject, handle)
      answer = await this.#callEnclave(token.token, handle, request)
    }
    if (answer.status === 200 && answer.body) return answer.body
    throw new DispatchError(
      answer.error ?? 'ERR_ENCLAVE_RESPONSE',
      `Enclave refused the dispatch (${answer.error ?? `HTTP ${answer.status}`})`,
      answer.status,
    )
  }

  #dispatchToken(cacheKey: string, subject: DispatchSubject, handle: string): Promise<CachedToken> {
    const now = this.#now() / 1000
    const skew = this.#options.refreshSkewSeconds ?? 10
    const cached = this.#tokens.get(cacheKey)
    if (cached && cached.expiresAt - skew > now) return Promise.resolve(cached)
    let pending = this.#inflight.get(cacheKey)
    if (!pending) {
      pending = this.#exchange(subject, handle).finally(() => this.#inflight.delete(cacheKey))
      this.#inflight.set(cacheKey, pending)
      pending.then(
        (token) => {
          if (this.#tokens.size >= MAX_CACHED_TOKENS) this.#prune()
          this.#tokens.set(cacheKey, token)
        },
        () => undefined,
      )
    }
    return pending
  }

  #prune(): void {
    const now = this.#now() / 1000
    for (const [key, value] of this.#tokens) if (value.expiresAt <= now) this.#tokens.delete(key)
    if (this.#tokens.size >= MAX_CACHED_TOKENS) this.#tokens.clear()
  }

  async #tokenEndpoint(issuer: string): Promise<string> {
    if (this.#options.tokenEndpoint) return this.#options.tokenEndpoint
    try {
      const metadata = await this.#metadata.get(issuer)
      if (typeof metadata.token_endpoint === 'string') return metadata.token_endpoint
    } catch {
      // fall through
    }
    throw new DispatchError('ERR_TOKEN_EXCHANGE', 'Token endpoint unavailable')
  }

  async #exchange(subject: DispatchSubject, handle: string): Promise<CachedToken> {
    const endpoint = await this.#tokenEndpoint(subject.claims.iss)
    const key = await this.dpopKey()
    const form = new URLSearchParams({
      grant_type: TOKEN_EXCHANGE_GRANT_TYPE,
      subject_token: subject.token,
      subject_token_type: ACCESS_TOKEN_TYPE,
      resource: this.#options.enclaveUrl,
      connections: handle,
    })
    // RFC 6749 §2.3.1: id and secret are form-urlencoded before base64.
    const basic = Buffer.from(
      `${encodeURIComponent(this.#options.clientId)}:${encodeURIComponent(this.#options.clientSecret)}`,
    ).toString('base64')
    const origin = new URL(endpoint).origin
    for (let attempt = 0; attempt < 2; attempt++) {
      const nonce = this.#nonces.get(origin)
      const proof = await createDpopProof(key, {
        htm: 'POST',
        htu: endpoint,
        ...(nonce !== undefined ? { nonce } : {}),
      })
      let response: Response
      try {
        response = await this.#fetch(endpoint, {
          method: 'POST',
          headers: {
            authorization: `Basic ${basic}`,
            dpop: proof,
            'content-type': 'application/x-www-form-urlencoded',
            accept: 'application/json',
            ...outboundHeaders(),
          },
          body: form.toString(),
          redirect: 'error',
          signal: AbortSignal.timeout(10_000),
        })
      } catch {
        throw new DispatchError('ERR_TOKEN_EXCHANGE', 'Token endpoint unreachable')
      }
      const newNonce = response.headers.get('dpop-nonce')
      if (newNonce) this.#nonces.set(origin, newNonce)
      const body = (await response.json().catch(() => ({}))) as Record<string, unknown>
      if (response.ok && typeof body.access_token === 'string') {
        const expiresIn = typeof body.expires_in === 'number' ? body.expires_in : 60
        return { token: body.access_token, expiresAt: this.#now() / 1000 + expiresIn }
      }
      if (body.error === 'use_dpop_nonce' && newNonce && attempt === 0) continue
      throw new DispatchError(
        'ERR_TOKEN_EXCHANGE',
        `Token exchange refused (${typeof body.error === 'string' ? body.error : `HTTP ${response.status}`})`,
        response.status,
      )
    }
    throw new DispatchError('ERR_TOKEN_EXCHANGE', 'Token exchange refused (use_dpop_nonce)')
  }

  async #callEnclave(
    token: string,
    handle: string,
    request: DispatchRequest,
  ): Promise<{ status: number; error?: string; body?: DispatchResponse }> {
    const url = `${this.#options.enclaveUrl.replace(/\/+$/, '')}/dispatch`
    const origin = new URL(url).origin
    const key = await this.dpopKey()
    const payload = JSON.stringify({
      handle,
      request: {
        method: request.method,
        ...(request.host !== undefined ? { host: request.host } : {}),
        path: request.path,
        query: request.query ?? {},
        headers: request.headers ?? {},
        ...(request.body !== undefined ? { body: request.body } : {}),
      },
    })
    for (let attempt = 0; attempt < 2; attempt++) {
      const nonce = this.#nonces.get(origin)
      const proof = await createDpopProof(key, {
        htm: 'POST',
        htu: url,
        accessToken: token,
        ...(nonce !== undefined ? { nonce } : {}),
      })
      let response: Response
      try {
        response = await this.#fetch(url, {
          method: 'POST',
          headers: {
            authorization: `DPoP ${token}`,
            dpop: proof,
            'content-type': 'application/json',
            accept: 'application/json',
            ...outboundHeaders(),
          },
          body: payload,
          redirect: 'error',
          signal: AbortSignal.timeout(this.#options.timeoutMs ?? 35_000),
        })
      } catch {
        throw new DispatchError('ERR_ENCLAVE_UNREACHABLE', 'Enclave unreachable')
      }
      const newNonce = response.headers.get('dpop-nonce')
      if (newNonce) this.#nonces.set(origin, newNonce)
      const body = (await response.json().catch(() => undefined)) as
        | Record<string, unknown>
        | undefined
      if (response.status === 200) {
        if (
          body &&
          typeof body.status === 'number' &&
          typeof body.body === 'string' &&
          typeof body.headers === 'object' &&
          body.headers !== null
        ) {
          return { status: 200, body: body as unknown as DispatchResponse }
        }
        return { status: 502, error: 'ERR_ENCLAVE_RESPONSE' }
      }
      let error = typeof body?.error === 'string' ? body.error : undefined
      if (response.status === 401) {
        const challenge = response.headers.get('www-authenticate')
        if (challenge) {
          try {
            const dpop = parseWwwAuthenticate(challenge).find(
              (c: { scheme: string }) => c.scheme.toLowerCase() === 'dpop',
            )
            error = dpop?.params.error ?? error
          } catch {
            // keep the body's code
          }
        }
        if (error === 'use_dpop_nonce' && newNonce && attempt === 0) continue
      }
      return error !== undefined ? { status: response.status, error } : { status: response.status }
    }
    return { status: 401, error: 'use_dpop_nonce' }
  }
}
