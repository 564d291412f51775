import { randomUUID } from 'node:crypto'
import { SignJWT, importJWK } from 'jose'
import { Agent, request } from 'undici'
import type { Dispatcher } from 'undici'
import type { JWK } from 'jose'
import { parseCredentialEnvelope } from '@dauth/protocol'
import type { CredentialEnvelope } from '@dauth/protocol'
import type { DpopSigner } from './dpopSigner.ts'
import { requestIdHeaders } from './requestScope.ts'

/**
 * The worker as client `dauth-enclave` of the AS (wire.md "Connection vault"):
 * RFC 8414 discovery, client_credentials with private_key_jwt (RFC 7523, `aud` = issuer),
 * resource `<issuer>/enclave`, scope `envelopes:read`, DPoP-bound with the worker's own key
 * (RFC 9449, `use_dpop_nonce` retried once), token cached until shortly before expiry.
 *
 * Every dispatch reads its envelope here (so a revoked connection stops the very next
 * dispatch), which makes this the hottest outbound path: it goes through its own undici
 * keep-alive pool (no connection set-up or TLS handshake per call, TLS sessions resumed
 * when a connection is re-opened) with undici's `request`, which costs a fraction of the
 * CPU of WHATWG `fetch` per call. Redirects are never followed (a 3xx is an error).
 */
export interface AuthorizationServerMetadata {
  issuer: string
  jwks_uri: string
  token_endpoint: string
}

export interface EnvelopeRecord {
  handle: string
  connection_id: string
  owner: { iss: string; sub: string }
  upload_nonce: string
  envelope: CredentialEnvelope
}

export class AsUnavailableError extends Error {
  readonly code = 'ERR_AS_UNAVAILABLE'
  readonly reason: string
  constructor(reason: string) {
    super('authorization server unavailable')
    this.name = 'AsUnavailableError'
    this.reason = reason
  }
}

export interface AsClientOptions {
  issuer: string
  clientId: string
  clientJwk: JsonWebKey
  /** the worker's own DPoP key (every AS request carries a fresh proof) */
  dpop: DpopSigner
  /** HTTP client to the AS (default: a keep-alive pool owned by this client) */
  dispatcher?: Dispatcher
  /** parallel connections of the default pool */
  connections?: number
  /** limit (connect, then headers, then body) of the default pool's AS exchanges */
  timeoutMs?: number
  now?: () => number
  metadataTtlSeconds?: number
}

const METADATA_PATH = '/.well-known/oauth-authorization-server'
const DEFAULT_TIMEOUT_MS = 10_000
/** Largest AS answer read (an envelope record is a few KiB). */
const MAX_BODY_BYTES = 1024 * 1024

/** An AS answer read in full (the connection goes back to the pool). */
interface AsResponse {
  status: number
  header(name: string): string | undefined
  json(): unknown
}

async function readAnswer(res: Dispatcher.ResponseData): Promise<AsResponse> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of res.body as AsyncIterable<Buffer>) {
    size += chunk.length
    if (size > MAX_BODY_BYTES) {
      res.body.destroy()
      throw new AsUnavailableError('answer_too_large')
    }
    chunks.push(chunk)
  }
  const text = Buffer.concat(chunks).toString('utf8')
  const headers = res.headers
  return {
    status: res.statusCode,
    header: (name) => {
      const value = headers[name]
      return Array.isArray(value) ? value.join(', ') : value
    },
    json: () => {
      try {
        return JSON.parse(text) as unknown
      } catch {
        return undefined
      }
    },
  }
}

function isString(v: unknown): v is string {
  return typeof v === 'string' && v.length > 0
}

export class AuthorizationServerClient {
  readonly #opts: AsClientOptions
  readonly #dispatcher: Dispatcher
  readonly #ownDispatcher: Agent | undefined
  readonly #timeoutMs: number
  readonly #now: () => number
  #metadata: { value: AuthorizationServerMetadata; expires: number } | undefined
  #metadataPending: Promise<AuthorizationServerMetadata> | undefined
  #token: { value: string; expires: number } | undefined
  #tokenPending: Promise<string> | undefined
  readonly #nonces = new Map<string, string>()

  constructor(opts: AsClientOptions) {
    this.#opts = opts
    this.#timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS
    this.#ownDispatcher =
      opts.dispatcher === undefined
        ? new Agent({
            connections: opts.connections ?? 16,
            pipelining: 1,
            keepAliveTimeout: 30_000,
            keepAliveMaxTimeout: 60_000,
            connectTimeout: this.#timeoutMs,
            headersTimeout: this.#timeoutMs,
            bodyTimeout: this.#timeoutMs,
          })
        : undefined
    this.#dispatcher = opts.dispatcher ?? (this.#ownDispatcher as Agent)
    this.#now = opts.now ?? (() => Math.floor(Date.now() / 1000))
  }

  /** One exchange with the AS, read in full; a transport failure is AsUnavailableError. */
  async #send(
    url: string,
    init: { method: 'GET' | 'POST'; headers: Record<string, string>; body?: string },
    reason: string,
  ): Promise<AsResponse> {
    try {
      const res = await request(url, {
        method: init.method,
        // The dispatch's request id (when inside one) on every AS exchange it causes.
        headers: { ...init.headers, ...requestIdHeaders() },
        ...(init.body !== undefined ? { body: init.body } : {}),
        dispatcher: this.#dispatcher,
      })
      return await readAnswer(res)
    } catch (error) {
      if (error instanceof AsUnavailableError) throw error
      throw new AsUnavailableError(reason)
    }
  }

  /** Closes the connection pool this client owns. */
  async close(): Promise<void> {
    await this.#ownDispatcher?.close()
  }

  /** Discovery document (cached; single flight). */
  async metadata(): Promise<AuthorizationServerMetadata> {
    const cached = this.#metadata
    if (cached && cached.expires > this.#now()) return cached.value
    this.#metadataPending ??= this.#loadMetadata().finally(() => {
      this.#metadataPending = undefined
    })
    return this.#metadataPending
  }

  async #loadMetadata(): Promise<AuthorizationServerMetadata> {
    const issuer = this.#opts.issuer
    const res = await this.#send(
      `${issuer.replace(/\/$/, '')}${METADATA_PATH}`,
      { method: 'GET', headers: { accept: 'application/json' } },
      'metadata_fetch',
    )
    if (res.status !== 200) throw new AsUnavailableError('metadata_status')
    const doc = res.json() as Partial<AuthorizationServerMetadata> | undefined
    if (!doc || doc.issuer !== issuer || !isString(doc.jwks_uri) || !isString(doc.token_endpoint)) {
      throw new AsUnavailableError('metadata_shape')
    }
    const value = { issuer, jwks_uri: doc.jwks_uri, token_endpoint: doc.token_endpoint }
    this.#metadata = { value, expires: this.#now() + (this.#opts.metadataTtlSeconds ?? 600) }
    return value
  }

  async #clientAssertion(): Promise<string> {
    const jwk = this.#opts.clientJwk as JsonWebKey & { kid?: unknown }
    const key = await importJWK(jwk as JWK, 'ES256')
    const header: { alg: string; typ: string; kid?: string } = { alg: 'ES256', typ: 'JWT' }
    if (typeof jwk.kid === 'string') header.kid = jwk.kid
    const now = this.#now()
    return new SignJWT({})
      .setProtectedHeader(header)
      .setIssuer(this.#opts.clientId)
      .setSubject(this.#opts.clientId)
      .setAudience(this.#opts.issuer)
      .setJti(randomUUID())
      .setIssuedAt(now)
      .setExpirationTime(now + 60)
      .sign(key)
  }

  async #dpopFetch(
    url: string,
    init: { method: 'GET' | 'POST'; headers: Record<string, string>; body?: string },
    accessToken?: string,
  ): Promise<AsResponse> {
    const origin = new URL(url).origin
    for (let attempt = 0; attempt < 2; attempt++) {
      const nonce = this.#nonces.get(origin)
      const proof = this.#opts.dpop.proof({
        htm: init.method,
        htu: url,
        ...(accessToken !== undefined ? { accessToken } : {}),
        ...(nonce !== undefined ? { nonce } : {}),
      })
      const res = await this.#send(
        url,
        { ...init, headers: { ...init.headers, dpop: proof } },
        'fetch',
      )
      const newNonce = res.header('dpop-nonce')
      if (newNonce) this.#nonces.set(origin, newNonce)
      if ((res.status === 400 || res.status === 401) && newNonce && attempt === 0) {
        const www = res.header('www-authenticate') ?? ''
        const body = (res.status === 400 ? (res.json() ?? {}) : {}) as { error?: unknown }
        if (body.error === 'use_dpop_nonce' || www.includes('use_dpop_nonce')) continue
      }
      return res
    }
    throw new AsUnavailableError('nonce_loop')
  }

  /** A DPoP-bound access token for `<issuer>/enclave` (cached until 30 s before expiry). */
  async accessToken(): Promise<string> {
    const cached = this.#token
    if (cached && cached.expires > this.#now()) return cached.value
    this.#tokenPending ??= this.#requestToken().finally(() => {
      this.#tokenPending = undefined
    })
    return this.#tokenPending
  }

  async #requestToken(): Promise<string> {
    const { token_endpoint } = await this.metadata()
    const form = new URLSearchParams({
      grant_type: 'client_credentials',
      resource: `${this.#opts.issuer.replace(/\/$/, '')}/enclave`,
      scope: 'envelopes:read',
      client_id: this.#opts.clientId,
      client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
    })
    const res = await this.#dpopFetch(token_endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: `${form.toString()}&client_assertion=${await this.#clientAssertion()}`,
    })
    if (res.status !== 200) throw new AsUnavailableError(`token_status_${res.status}`)
    const body = res.json() as
      | { access_token?: unknown; token_type?: unknown; expires_in?: unknown }
      | undefined
    if (
      !body ||
      !isString(body.access_token) ||
      typeof body.token_type !== 'string' ||
      body.token_type.toLowerCase() !== 'dpop'
    ) {
      throw new AsUnavailableError('token_shape')
    }
    const ttl = typeof body.expires_in === 'number' && body.expires_in > 0 ? body.expires_in : 60
    this.#token = { value: body.access_token, expires: this.#now() + Math.max(1, ttl - 30) }
    return body.access_token
  }

  /** The stored record for a handle, or undefined when the AS does not have it (404). */
  async fetchEnvelopeRecord(handle: string): Promise<EnvelopeRecord | undefined> {
    const url = `${this.#opts.issuer.replace(/\/$/, '')}/enclave/envelopes/${encodeURIComponent(handle)}`
    for (let attempt = 0; attempt < 2; attempt++) {
      const token = await this.accessToken()
      const res = await this.#dpopFetch(
        url,
        { method: 'GET', headers: { authorization: `DPoP ${token}`, accept: 'application/json' } },
        token,
      )
      if (res.status === 404) return undefined
      if (res.status === 401 && attempt === 0) {
        this.#token = undefined
        continue
      }
      if (res.status !== 200) throw new AsUnavailableError(`envelope_status_${res.status}`)
      return parseEnvelopeRecord(res.json())
    }
    throw new AsUnavailableError('envelope_auth')
  }
}

/** Strict shape of the AS record; a malformed record is treated like an unknown handle. */
export function parseEnvelopeRecord(value: unknown): EnvelopeRecord | undefined {
  if (typeof value !== 'object' || value === null) return undefined
  const v = value as Record<string, unknown>
  const owner = v.owner as Record<string, unknown> | undefined
  if (!isString(v.handle) || !isString(v.connection_id) || !isString(v.upload_nonce))
    return undefined
  if (typeof owner !== 'object' || owner === null || !isString(owner.iss) || !isString(owner.sub))
    return undefined
  let envelope: CredentialEnvelope
  try {
    envelope = parseCredentialEnvelope(v.envelope)
  } catch {
    return undefined
  }
  return {
    handle: v.handle,
    connection_id: v.connection_id,
    owner: { iss: owner.iss, sub: owner.sub },
    upload_nonce: v.upload_nonce,
    envelope,
  }
}
