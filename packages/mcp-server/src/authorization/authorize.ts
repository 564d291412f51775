/**
 * The authorization core: a request-like input in, a tagged result out (STYLE.md §3, §6).
 * No framework, no response writing — {@link authFailureResponse} is the one place that turns
 * a failure into an HTTP answer.
 *
 * @module
 */
import {
  DpopProofError,
  type DpopProofErrorCode,
  type ReplayStore,
  verifyDpopProof,
} from '@dauth/protocol'
import type { AuthInfo } from '@modelcontextprotocol/server'
import type { AuthorizationProvider, TokenFailureReason, VerifiedClaims } from './jwt.ts'
import type { DpopNonceSource } from './nonce.ts'
import { headerValues, type RequestLike } from './request.ts'

/** Why a request was not authorized. Exhaustively mapped to the wire by {@link authFailureResponse}. */
export type AuthFailure =
  /** No `Authorization` header. */
  | { reason: 'missing_token' }
  /** Unparseable `Authorization`, several of them, or an unsupported scheme. */
  | { reason: 'malformed_authorization' }
  /** The token failed validation. `scheme` is the one the client used. */
  | {
      reason: 'invalid_token'
      scheme: 'Bearer' | 'DPoP'
      detail: TokenFailureReason | 'not_dpop_bound'
    }
  /** A DPoP-bound token (`cnf.jkt`) presented as `Bearer` (RFC 9449 §7.2). */
  | { reason: 'dpop_bound_token_as_bearer' }
  /** A plain `Bearer` token while DPoP is required. */
  | { reason: 'dpop_required' }
  /** The DPoP proof is missing, repeated or invalid (RFC 9449 §4.3). */
  | {
      reason: 'invalid_dpop_proof'
      detail: DpopProofErrorCode | 'ERR_DPOP_MISSING' | 'ERR_DPOP_MULTIPLE'
    }
  /** Nonces are on and the proof has none, or an old one (RFC 9449 §8). */
  | { reason: 'use_dpop_nonce' }
  /** A dependency is down: the issuer's keys (cache past its TTL) or the replay store. Fail closed. */
  | { reason: 'unavailable'; detail: 'jwks' | 'replay_store' }
  /** The token lacks scopes this request needs (RFC 6750 §3.1). */
  | { reason: 'insufficient_scope'; scheme: 'Bearer' | 'DPoP'; scopes: readonly string[] }

/** Tagged result of {@link authorizeRequest}. */
export type AuthorizeResult =
  | { ok: true; authInfo: AuthInfo; claims: VerifiedClaims; scheme: 'Bearer' | 'DPoP' }
  | { ok: false; failure: AuthFailure }

/** DPoP policy of the resource server. */
export interface DpopPolicy {
  /** `required`: Bearer refused; `allowed`: both schemes; `disabled`: Bearer only. */
  mode: 'required' | 'allowed' | 'disabled'
  /** Proof algorithms accepted (default ES256, EdDSA). */
  algorithms: readonly string[]
  /** `jti` replay store, shared between instances in production. */
  replayStore: ReplayStore
  /** When set, every proof must carry a nonce this source accepts. */
  nonces?: DpopNonceSource
  /** Proof `iat` window (default of `verifyDpopProof`). */
  maxAgeSeconds?: number
  clockSkewSeconds?: number
}

/** Options of {@link authorizeRequest}. */
export interface AuthorizeOptions {
  provider: AuthorizationProvider
  /** Canonical resource URL: the expected `htu` of proofs and `resource` of the AuthInfo. */
  resourceUrl: string
  dpop: DpopPolicy
  /** Scopes every request needs (server level). */
  requiredScopes?: readonly string[]
  /** Clock in milliseconds (tests). */
  now?: () => number
  /** Check the DPoP proof's signature on libuv's thread pool (default `true`). */
  offloadSignatures?: boolean
}

// RFC 6750 §2.1 b64token / RFC 9449 §7.1: one scheme, one space, one token68 — nothing else.
const CREDENTIALS = /^([A-Za-z]+) +([A-Za-z0-9\-._~+/]+=*)$/

function proofNonce(proof: string): string | undefined {
  const first = proof.indexOf('.')
  const second = proof.indexOf('.', first + 1)
  if (first <= 0 || second <= first) return undefined
  try {
    const payload = JSON.parse(
      Buffer.from(proof.slice(first + 1, second), 'base64url').toString('utf8'),
    ) as { nonce?: unknown }
    return typeof payload.nonce === 'string' ? payload.nonce : undefined
  } catch {
    return undefined
  }
}

/** The token's `scope` claim as a list (RFC 9068 §2.2.3.1). */
export function scopesOf(claims: { scope?: unknown }): string[] {
  return typeof claims.scope === 'string' ? claims.scope.split(' ').filter(Boolean) : []
}

/**
 * Authorize one request: parse `Authorization`, validate the token with the provider, and,
 * for the `DPoP` scheme, the proof (RFC 9449 §4.3, `ath`, `cnf.jkt`, `jti` replay, nonce).
 *
 * @example
 * ```ts
 * const result = await authorizeRequest(request, { provider, resourceUrl, dpop })
 * if (!result.ok) return toResponse(authFailureResponse(result.failure, challengeContext))
 * ```
 */
export async function authorizeRequest(
  request: RequestLike,
  options: AuthorizeOptions,
): Promise<AuthorizeResult> {
  const authorization = headerValues(request.headers, 'authorization')
  if (authorization.length === 0) return fail({ reason: 'missing_token' })
  if (authorization.length > 1) return fail({ reason: 'malformed_authorization' })
  const match = CREDENTIALS.exec(authorization[0] ?? '')
  if (!match) return fail({ reason: 'malformed_authorization' })
  const scheme = (match[1] ?? '').toLowerCase()
  const token = match[2] ?? ''
  const { dpop } = options

  if (scheme === 'bearer') {
    if (dpop.mode === 'required') return fail({ reason: 'dpop_required' })
    const verification = await options.provider.verifyAccessToken(token)
    if (!verification.ok) return tokenFailure('Bearer', verification.reason)
    // Any sender constraint (`cnf`: DPoP `jkt`, mTLS `x5t#S256`…) cannot be honoured as Bearer.
    if (verification.claims.cnf !== undefined) {
      return fail({ reason: 'dpop_bound_token_as_bearer' })
    }
    return success(token, verification.claims, 'Bearer', options)
  }
  if (scheme !== 'dpop' || dpop.mode === 'disabled') {
    return fail({ reason: 'malformed_authorization' })
  }

  const proofs = headerValues(request.headers, 'dpop')
  if (proofs.length === 0) return fail({ reason: 'invalid_dpop_proof', detail: 'ERR_DPOP_MISSING' })
  const proof = proofs[0] ?? ''
  if (proofs.length > 1 || proof.includes(',')) {
    return fail({ reason: 'invalid_dpop_proof', detail: 'ERR_DPOP_MULTIPLE' })
  }
  let nonce: string | undefined
  let staleNonce = false
  if (dpop.nonces) {
    nonce = proofNonce(proof)
    staleNonce = nonce === undefined || !dpop.nonces.isValid(nonce)
  }
  // The proof needs nothing from the token but `cnf.jkt`, compared below: both signatures are
  // checked side by side on the thread pool, so a first request with a new token waits for one
  // verification, not two in a row. The answers keep their order of precedence: token
  // failures first, then the binding, the nonce and the proof.
  const proofCheck = staleNonce
    ? undefined
    : settle(
        verifyDpopProof(proof, {
          htm: request.method.toUpperCase(),
          htu: options.resourceUrl,
          accessToken: token,
          algorithms: dpop.algorithms,
          replayStore: dpop.replayStore,
          offloadSignature: options.offloadSignatures !== false,
          ...(nonce !== undefined ? { nonce, requireNonce: true } : {}),
          ...(options.now ? { now: Math.floor(options.now() / 1000) } : {}),
          ...(dpop.maxAgeSeconds !== undefined ? { maxAgeSeconds: dpop.maxAgeSeconds } : {}),
          ...(dpop.clockSkewSeconds !== undefined
            ? { clockSkewSeconds: dpop.clockSkewSeconds }
            : {}),
        }),
      )
  const verification = await options.provider.verifyAccessToken(token)
  const proofResult = await proofCheck
  if (!verification.ok) return tokenFailure('DPoP', verification.reason)
  const jkt = verification.claims.cnf?.jkt
  if (typeof jkt !== 'string') {
    return fail({ reason: 'invalid_token', scheme: 'DPoP', detail: 'not_dpop_bound' })
  }
  if (proofResult === undefined) return fail({ reason: 'use_dpop_nonce' })
  if (!proofResult.ok) {
    const { error } = proofResult
    if (error instanceof DpopProofError) {
      if (error.code === 'ERR_DPOP_NONCE') return fail({ reason: 'use_dpop_nonce' })
      return fail({ reason: 'invalid_dpop_proof', detail: error.code })
    }
    // A replay store that cannot answer fails closed (THREATS.md "Faults").
    return fail({ reason: 'unavailable', detail: 'replay_store' })
  }
  if (proofResult.value.jkt !== jkt) {
    return fail({ reason: 'invalid_dpop_proof', detail: 'ERR_DPOP_JKT_MISMATCH' })
  }
  return success(token, verification.claims, 'DPoP', options)
}

/** A promise's outcome as a value: awaited later, a rejection is never left unhandled. */
function settle<T>(
  promise: Promise<T>,
): Promise<{ ok: true; value: T } | { ok: false; error: unknown }> {
  return promise.then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  )
}

function fail(failure: AuthFailure): AuthorizeResult {
  return { ok: false, failure }
}

function tokenFailure(scheme: 'Bearer' | 'DPoP', reason: TokenFailureReason): AuthorizeResult {
  if (reason === 'jwks_unavailable') return fail({ reason: 'unavailable', detail: 'jwks' })
  return fail({ reason: 'invalid_token', scheme, detail: reason })
}

function success(
  token: string,
  claims: VerifiedClaims,
  scheme: 'Bearer' | 'DPoP',
  options: AuthorizeOptions,
): AuthorizeResult {
  const scopes = scopesOf(claims)
  const required = options.requiredScopes ?? []
  const missing = required.filter((scope) => !scopes.includes(scope))
  if (missing.length > 0) return fail({ reason: 'insufficient_scope', scheme, scopes: required })
  const authInfo: AuthInfo = {
    token,
    clientId: typeof claims.client_id === 'string' ? claims.client_id : claims.sub,
    scopes,
    expiresAt: claims.exp,
    resource: new URL(options.resourceUrl),
    extra: claims,
  }
  return { ok: true, authInfo, claims, scheme }
}
