import { createDpopProof, normalizeHtu } from '@dauth/protocol'
import { discoverAuthorizationServerMetadata } from '../discovery/authorizationServer.ts'
import {
  discoverProtectedResourceMetadata,
  parseResourceChallenge,
} from '../discovery/protectedResource.ts'
import { InsufficientScopeError, UnauthorizedError } from '../errors.ts'
import { defaultFetch, discardBody, splitScope, type FetchLike } from '../internal/http.ts'
import type { ClientAuth } from './types.ts'

/** Options of {@link authFetch}. */
export interface AuthFetchOptions {
  /** The fetch that reaches the resource (default: global fetch). */
  readonly fetch?: FetchLike
  /** Step-up attempts per request on 403 `insufficient_scope` (default 2). */
  readonly maxStepUps?: number
  /** Extra headers for discovery requests (e.g. `MCP-Protocol-Version`). */
  readonly discoveryHeaders?: Record<string, string>
}

/**
 * Wraps fetch so that every request carries `auth`: `Authorization: Bearer|DPoP <token>` and,
 * for DPoP, a fresh `DPoP` proof (`htm`, `htu`, `ath`, the origin's last nonce).
 *
 * Handles, each at most once per request unless noted:
 * - 401 `use_dpop_nonce` with `DPoP-Nonce` (RFC 9449 §9): retry with the nonce;
 * - 401 when the auth still needs an issuer/resource: MCP discovery (PRM from the
 *   challenge's `resource_metadata`, else well-known URLs; then AS metadata), retry;
 * - 401 with a token: drop it, obtain another, retry; a second 401 throws {@link UnauthorizedError};
 * - 403 `insufficient_scope`: step-up to the union of scopes, at most `maxStepUps` (2) times,
 *   then {@link InsufficientScopeError}.
 *
 * Request bodies must be replayable (string, bytes, URLSearchParams, FormData, Blob).
 *
 * @example
 * ```ts
 * const transport = new StreamableHTTPClientTransport(new URL(url), { fetch: authFetch(auth) })
 * ```
 */
export function authFetch(auth: ClientAuth, options: AuthFetchOptions = {}): FetchLike {
  const fetchImpl = options.fetch ?? defaultFetch
  const maxStepUps = options.maxStepUps ?? 2
  return async (input, init) => {
    const url = new URL(input)
    const method = (init?.method ?? 'GET').toUpperCase()
    let nonceRetried = false
    let discovered = false
    let refreshed = false
    let stepUps = 0
    for (;;) {
      const token = await auth.getAccessToken()
      const headers = new Headers(init?.headers)
      if (token !== undefined) {
        headers.set('authorization', `${token.type} ${token.value}`)
        const key = token.type === 'DPoP' ? await auth.getDpopKey() : undefined
        if (key !== undefined) {
          const nonce = auth.nonces.get(url)
          headers.set(
            'dpop',
            await createDpopProof(key, {
              htm: method,
              htu: normalizeHtu(url),
              accessToken: token.value,
              ...(nonce !== undefined ? { nonce } : {}),
            }),
          )
        }
      }
      const response = await fetchImpl(url, { ...init, headers })
      const gotNonce = auth.nonces.observe(url, response)
      if (response.status !== 401 && response.status !== 403) return response

      const wwwAuthenticate = response.headers.get('www-authenticate')
      const challenge = parseResourceChallenge(wwwAuthenticate)
      if (response.status === 401) {
        if (
          challenge?.error === 'use_dpop_nonce' &&
          gotNonce &&
          !nonceRetried &&
          token !== undefined
        ) {
          nonceRetried = true
          await discardBody(response)
          continue
        }
        if (auth.needsDiscovery() && !discovered) {
          discovered = true
          await discardBody(response)
          const prm = await discoverProtectedResourceMetadata(url, {
            wwwAuthenticate,
            fetch: fetchImpl,
            ...(options.discoveryHeaders !== undefined
              ? { headers: options.discoveryHeaders }
              : {}),
          })
          const scopes = splitScope(challenge?.scope ?? prm.metadata.scopes_supported ?? [])
          await auth.applyDiscovery({
            resource: prm.metadata.resource,
            authorizationServers: prm.metadata.authorization_servers ?? [],
            scopes,
            metadataFor: (issuer) =>
              discoverAuthorizationServerMetadata(issuer, {
                fetch: fetchImpl,
                ...(options.discoveryHeaders !== undefined
                  ? { headers: options.discoveryHeaders }
                  : {}),
              }),
          })
          continue
        }
        if (token !== undefined && !refreshed && (await auth.invalidate())) {
          refreshed = true
          await discardBody(response)
          continue
        }
        await discardBody(response)
        throw new UnauthorizedError(
          `The resource refused the request with HTTP 401${challenge?.error ? ` (${challenge.error})` : ''}`,
          challenge?.error,
        )
      }
      // 403
      if (challenge?.error !== 'insufficient_scope') return response
      await discardBody(response)
      const required = splitScope(challenge.scope)
      if (stepUps < maxStepUps && (await auth.stepUp(required))) {
        stepUps += 1
        continue
      }
      throw new InsufficientScopeError(required)
    }
  }
}
