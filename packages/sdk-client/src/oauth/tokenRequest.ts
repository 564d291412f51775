import { createDpopProof, normalizeHtu, type DpopKeyPair } from '@dauth/protocol'
import type { DpopNonceCache } from '../dpop/nonces.ts'
import { AuthorizationServerError, InvalidResponseError } from '../errors.ts'
import { isRecord, readOAuthError, type FetchLike } from '../internal/http.ts'
import { applyClientAuthentication, type ClientAuthentication } from './clientAuthentication.ts'

/** A successful token response (RFC 6749 §5.1), normalised. */
export interface TokenSet {
  readonly accessToken: string
  readonly tokenType: 'Bearer' | 'DPoP'
  /** Seconds since the epoch; `undefined` when the AS sent no `expires_in`. */
  readonly expiresAt: number | undefined
  readonly refreshToken: string | undefined
  /** Granted scope (RFC 6749 §5.1), when the AS sent it. */
  readonly scope: string | undefined
}

export interface TokenRequestOptions {
  readonly tokenEndpoint: string
  /** Client assertion audience: the issuer identifier when known. */
  readonly audience: string
  readonly params: URLSearchParams
  readonly client: ClientAuthentication
  readonly dpopKey: DpopKeyPair | undefined
  readonly nonces: DpopNonceCache
  readonly fetch: FetchLike
  readonly now: number
}

/**
 * POSTs a token request, with a DPoP proof when a key is given; on `400 use_dpop_nonce`
 * (RFC 9449 §8) retries once with the `DPoP-Nonce` the AS supplied.
 * Throws {@link AuthorizationServerError} on an OAuth error.
 */
export async function requestToken(options: TokenRequestOptions): Promise<TokenSet> {
  let retried = false
  for (;;) {
    const headers = new Headers({
      'content-type': 'application/x-www-form-urlencoded',
      accept: 'application/json',
    })
    const body = new URLSearchParams(options.params)
    await applyClientAuthentication(options.client, headers, body, options.audience, options.now)
    if (options.dpopKey !== undefined) {
      const nonce = options.nonces.get(options.tokenEndpoint)
      headers.set(
        'dpop',
        await createDpopProof(options.dpopKey, {
          htm: 'POST',
          htu: normalizeHtu(options.tokenEndpoint),
          ...(nonce !== undefined ? { nonce } : {}),
        }),
      )
    }
    const response = await options.fetch(options.tokenEndpoint, {
      method: 'POST',
      headers,
      body: body.toString(),
    })
    const gotNonce = options.nonces.observe(options.tokenEndpoint, response)
    if (!response.ok) {
      const { error, errorDescription } = await readOAuthError(response)
      if (error === 'use_dpop_nonce' && gotNonce && !retried && options.dpopKey !== undefined) {
        retried = true
        continue
      }
      throw new AuthorizationServerError(
        response.status,
        error ?? 'invalid_response',
        errorDescription,
      )
    }
    return parseTokenResponse(await response.json().catch(() => undefined), options.now)
  }
}

function parseTokenResponse(body: unknown, now: number): TokenSet {
  if (!isRecord(body)) throw new InvalidResponseError('Token response is not a JSON object')
  const { access_token, token_type, expires_in, refresh_token, scope } = body
  if (typeof access_token !== 'string' || access_token.length === 0) {
    throw new InvalidResponseError('Token response has no access_token')
  }
  if (typeof token_type !== 'string')
    throw new InvalidResponseError('Token response has no token_type')
  const type = token_type.toLowerCase()
  if (type !== 'bearer' && type !== 'dpop') {
    throw new InvalidResponseError(`Unsupported token_type ${token_type}`)
  }
  if (
    expires_in !== undefined &&
    (typeof expires_in !== 'number' || !Number.isFinite(expires_in))
  ) {
    throw new InvalidResponseError('Token response has an invalid expires_in')
  }
  return {
    accessToken: access_token,
    tokenType: type === 'dpop' ? 'DPoP' : 'Bearer',
    expiresAt: typeof expires_in === 'number' ? now + expires_in : undefined,
    refreshToken: typeof refresh_token === 'string' ? refresh_token : undefined,
    scope: typeof scope === 'string' ? scope : undefined,
  }
}
