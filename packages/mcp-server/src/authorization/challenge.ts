/**
 * The one place that turns an {@link AuthFailure} into an HTTP answer (STYLE.md §5): status,
 * `WWW-Authenticate` challenges (RFC 6750 §3, RFC 9449 §7.1, RFC 9728 §5.1), `DPoP-Nonce`,
 * and a JSON body `{error, error_description}` with public text only.
 *
 * @module
 */
import { type AuthChallenge, formatWwwAuthenticate } from '@dauth/protocol'
import type { AuthFailure } from './authorize.ts'

/** What the challenges need to know about this resource server. */
export interface ChallengeContext {
  /** Absolute URL of the protected resource metadata (RFC 9728 §5.1). */
  resourceMetadataUrl: string
  /** Scopes to advertise in `scope=` (the server level, or what the refused request needed). */
  scopes: readonly string[]
  /** Whether the `DPoP` scheme is accepted (adds a `DPoP algs=…` challenge). */
  dpopAccepted: boolean
  /** Proof algorithms for `algs=`. */
  dpopAlgorithms: readonly string[]
  /** A fresh nonce to send as `DPoP-Nonce` when nonces are on. */
  dpopNonce?: string
  /** Optional `realm`. */
  realm?: string
}

/** A framework-free HTTP answer. */
export interface HttpAnswer {
  status: number
  headers: Record<string, string>
  body: { error: string; error_description: string }
}

interface Wire {
  status: number
  error: string
  description: string
  /** Which challenge carries `error`; `none` = RFC 6750 §3.1 "no error code". */
  errorOn: 'Bearer' | 'DPoP' | 'none'
  /** Body `error` when the challenge carries none. */
  bodyError?: string
}

/** Exhaustive mapping of failures to the wire (STYLE.md §6). */
function wireOf(failure: AuthFailure): Wire | { status: 503 } {
  switch (failure.reason) {
    case 'missing_token':
      return {
        status: 401,
        error: 'unauthorized',
        description: 'Access token required',
        errorOn: 'none',
      }
    case 'malformed_authorization':
      return {
        status: 401,
        error: 'invalid_request',
        description: 'Malformed Authorization header',
        errorOn: 'Bearer',
      }
    case 'invalid_token':
      return {
        status: 401,
        error: 'invalid_token',
        description: 'Invalid access token',
        errorOn: failure.scheme,
      }
    case 'dpop_bound_token_as_bearer':
      return {
        status: 401,
        error: 'invalid_token',
        description: 'DPoP-bound access token presented as Bearer',
        errorOn: 'Bearer',
      }
    case 'dpop_required':
      return {
        status: 401,
        error: 'invalid_token',
        description: 'DPoP-bound access token required',
        errorOn: 'Bearer',
      }
    case 'invalid_dpop_proof':
      return {
        status: 401,
        error: 'invalid_dpop_proof',
        description: 'Invalid DPoP proof',
        errorOn: 'DPoP',
      }
    case 'use_dpop_nonce':
      return {
        status: 401,
        error: 'use_dpop_nonce',
        description: 'Resource server requires nonce in DPoP proof',
        errorOn: 'DPoP',
      }
    case 'insufficient_scope':
      return {
        status: 403,
        error: 'insufficient_scope',
        description: 'Insufficient scope',
        errorOn: failure.scheme,
      }
    case 'unavailable':
      return { status: 503 }
  }
}

/**
 * The HTTP answer for an authorization failure.
 *
 * @example
 * ```ts
 * const answer = authFailureResponse({ reason: 'missing_token' }, context)
 * // 401, WWW-Authenticate: Bearer scope="read", resource_metadata="http://localhost:4100/.well-known/oauth-protected-resource/mcp"
 * ```
 */
export function authFailureResponse(failure: AuthFailure, context: ChallengeContext): HttpAnswer {
  const wire = wireOf(failure)
  if (!('error' in wire)) {
    return {
      status: 503,
      headers: { 'cache-control': 'no-store', 'retry-after': '5' },
      body: {
        error: 'temporarily_unavailable',
        error_description: 'Authorization temporarily unavailable',
      },
    }
  }
  const scopes = failure.reason === 'insufficient_scope' ? failure.scopes : context.scopes
  const common: Record<string, string> = {}
  if (scopes.length > 0) common.scope = scopes.join(' ')
  common.resource_metadata = context.resourceMetadataUrl

  const challenges: AuthChallenge[] = []
  const withError = (scheme: 'Bearer' | 'DPoP'): Record<string, string> => {
    const params: Record<string, string> = {}
    if (context.realm !== undefined) params.realm = context.realm
    if (wire.errorOn === scheme) {
      params.error = wire.error
      params.error_description = wire.description
    }
    return params
  }
  // 403 answers only in the scheme that was used (RFC 6750 §3.1 / RFC 9449 §7.1).
  const only403 = wire.status === 403 ? wire.errorOn : undefined
  if (only403 === undefined || only403 === 'Bearer') {
    challenges.push({ scheme: 'Bearer', params: { ...withError('Bearer'), ...common } })
  }
  if (context.dpopAccepted && (only403 === undefined || only403 === 'DPoP')) {
    challenges.push({
      scheme: 'DPoP',
      params: { ...withError('DPoP'), algs: context.dpopAlgorithms.join(' '), ...common },
    })
  }
  const headers: Record<string, string> = {
    'www-authenticate': challenges.map(formatWwwAuthenticate).join(', '),
    'cache-control': 'no-store',
  }
  if (context.dpopNonce !== undefined && context.dpopAccepted && wire.status === 401) {
    headers['dpop-nonce'] = context.dpopNonce
  }
  return {
    status: wire.status,
    headers,
    body: { error: wire.error, error_description: wire.description },
  }
}
