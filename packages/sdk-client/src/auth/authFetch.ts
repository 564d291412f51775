import { createDpopProof, normalizeHtu } from '@dauth/protocol'
import {
  discoverAuthorizationServerMetadata,
  type AuthorizationServerMetadata,
} from '../discovery/authorizationServer.ts'
import {
  discoverProtectedResourceMetadata,
  parseResourceChallenge,
} from '../discovery/protectedResource.ts'
import { DiscoveryError, InsufficientScopeError, UnauthorizedError } from '../errors.ts'
import { defaultFetch, discardBody, splitScope, type FetchLike } from '../internal/http.ts'
import type { ClientAuth, DiscoveredAuthorization } from './types.ts'

/** Options of {@link authFetch}. */
export interface AuthFetchOptions {
  /** The fetch that reaches the resource (default: global fetch). */
  readonly fetch?: FetchLike
  /** Step-up attempts per request on 403 `insufficient_scope` (default 2). */
  readonly maxStepUps?: number
  /** Extra headers for discovery requests (e.g. `MCP-Protocol-Version`). */
  readonly discoveryHeaders?: Record<string, string>
  /**
   * When the server publishes no protected resource metadata, treat its origin as the
   * authorization server, as MCP 2025-03-26 did: AS metadata there, else its default
   * `/authorize`, `/token` and `/register` endpoints (default `true`).
   */
  readonly legacyDiscovery?: boolean
}

/** MCP 2025-03-26 "Server Metadata Discovery" and "Fallbacks for Servers without Metadata Discovery". */
function legacyDiscovery(
  url: URL,
  scopes: string[],
  metadataFor: (issuer: string) => Promise<AuthorizationServerMetadata>,
): DiscoveredAuthorization {
  const origin = url.origin
  return {
    resource: `${origin}${url.pathname}`,
    authorizationServers: [origin],
    scopes,
    async metadataFor(issuer) {
      try {
        return await metadataFor(issuer)
      } catch (error) {
        if (!(error instanceof DiscoveryError && error.notFound) || issuer !== origin) throw error
        return {
          issuer: origin,
          authorization_endpoint: `${origin}/authorize`,
          token_endpoint: `${origin}/token`,
          registration_endpoint: `${origin}/register`,
          response_types_supported: ['code'],
          grant_types_supported: ['authorization_code', 'refresh_token'],
          // PKCE was already mandatory (OAuth 2.1) in 2025-03-26.
          code_challenge_methods_supported: ['S256'],
        }
      }
    },
  }
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
  const headers = options.discoveryHeaders
  const metadataFor = (issuer: string): Promise<AuthorizationServerMetadata> =>
    discoverAuthorizationServerMetadata(issuer, {
      fetch: fetchImpl,
      ...(headers !== undefined ? { headers } : {}),
    })

  /** MCP discovery: PRM (RFC 9728), else — for 2025-03-26 servers — the server's origin as the AS. */
  const discover = async (
    url: URL,
    wwwAuthenticate: string | null,
    challengeScope: string | undefined,
  ): Promise<DiscoveredAuthorization> => {
    let prm
    try {
      prm = await discoverProtectedResourceMetadata(url, {
        wwwAuthenticate,
        fetch: fetchImpl,
        ...(headers !== undefined ? { headers } : {}),
      })
    } catch (error) {
      if (!(error instanceof DiscoveryError && error.notFound) || options.legacyDiscovery === false)
        throw error
      return legacyDiscovery(url, splitScope(challengeScope), metadataFor)
    }
    return {
      resource: prm.metadata.resource,
      authorizationServers: prm.metadata.authorization_servers ?? [],
      scopes: splitScope(challengeScope ?? prm.metadata.scopes_supported ?? []),
      metadataFor,
    }
  }

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
          await auth.applyDiscovery(await discover(url, wwwAuthenticate, challenge?.scope))
          continue
        }
        if (
          token !== undefined &&
          !refreshed &&
          !discovered &&
          challenge?.resourceMetadata !== undefined
        ) {
          // The token was refused: the resource may have moved to another authorization
          // server (SEP-2352). Re-read its metadata; an AS change resets the auth's client.
          discovered = true
          const again = await discover(url, wwwAuthenticate, challenge.scope).catch(
            (error: unknown) => {
              if (error instanceof DiscoveryError) return undefined
              throw error
            },
          )
          if (again !== undefined) await auth.applyDiscovery(again)
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
