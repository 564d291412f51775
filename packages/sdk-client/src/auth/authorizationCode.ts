import type { DpopKeyPair } from '@dauth/protocol'
import type { AuthorizationServerMetadata } from '../discovery/authorizationServer.ts'
import {
  AuthorizationResponseError,
  AuthorizationServerError,
  ConfigurationError,
  DiscoveryError,
} from '../errors.ts'
import {
  defaultFetch,
  splitScope,
  systemClock,
  unionScopes,
  type Clock,
  type FetchLike,
} from '../internal/http.ts'
import type { ClientAuthentication } from '../oauth/clientAuthentication.ts'
import { pkceChallenge, randomToken } from '../oauth/pkce.ts'
import { registerClient, type ClientMetadata } from '../oauth/registration.ts'
import { requestToken, type TokenSet } from '../oauth/tokenRequest.ts'
import type { TokenStore } from '../tokens/store.ts'
import { OAuthSession } from './session.ts'
import type { ClientAuth } from './types.ts'

/** Receives the redirect back to `redirectUri` (the node subpath has a loopback listener). */
export interface RedirectReceiver {
  /** Resolves with the full redirect URL the browser was sent to. */
  waitForRedirect(): Promise<URL>
}

/** Options of {@link AuthorizationCodeAuth}. */
export interface AuthorizationCodeAuthOptions {
  /** AS issuer; learned from the resource's metadata when omitted. */
  readonly issuer?: string
  /**
   * Pre-registered client id. Without it the client uses `clientMetadataUrl` when the AS
   * supports Client ID Metadata Documents, else dynamic registration (RFC 7591) — the
   * MCP spec's order.
   */
  readonly clientId?: string
  /** Secret of a confidential pre-registered client (`client_secret_basic`). */
  readonly clientSecret?: string
  /** HTTPS URL of this client's metadata document (CIMD), used as `client_id`. */
  readonly clientMetadataUrl?: string
  /** Extra metadata for dynamic registration. */
  readonly clientMetadata?: ClientMetadata
  /** RFC 7591 initial access token for dynamic registration. */
  readonly initialAccessToken?: string
  readonly redirectUri: string
  readonly scope?: string | readonly string[]
  /** RFC 8707 resource; learned from discovery when omitted. */
  readonly resource?: string
  /**
   * Shows the authorization URL to the user. A headless caller (tests, CLIs with their own
   * listener) may resolve with the redirect URL itself; otherwise `redirectReceiver` supplies it.
   */
  readonly openBrowser: (url: URL) => Promise<void | string | URL>
  readonly redirectReceiver?: RedirectReceiver
  /** DPoP-bind tokens (RFC 9449) with this key or a generated one (`true`). */
  readonly dpop?: DpopKeyPair | true
  readonly fetch?: FetchLike
  readonly now?: Clock
  readonly expirySkewSeconds?: number
  readonly tokenStore?: TokenStore
}

/**
 * OAuth 2.1 authorization code flow with PKCE (`S256` only), `state`, the RFC 9207 `iss`
 * check, `resource` (RFC 8707) on the authorization and token requests, DPoP (with
 * `dpop_jkt`), refresh tokens, and step-up by re-authorization with the union of scopes.
 *
 * @example
 * ```ts
 * import { startLoopbackRedirectListener } from '@dauth/sdk-client/node'
 * const listener = await startLoopbackRedirectListener()
 * const auth = AuthorizationCodeAuth({
 *   clientId: 'my-cli', redirectUri: listener.redirectUri, redirectReceiver: listener,
 *   openBrowser: async (url) => console.log(`Open ${url}`), dpop: true,
 * })
 * ```
 */
export function AuthorizationCodeAuth(options: AuthorizationCodeAuthOptions): ClientAuth {
  const session = new OAuthSession({
    issuer: options.issuer,
    tokenEndpoint: undefined,
    resource: options.resource,
    scopes: splitScope(options.scope),
    dpop: options.dpop,
    fetch: options.fetch ?? defaultFetch,
    now: options.now ?? systemClock,
    expirySkewSeconds: options.expirySkewSeconds ?? 30,
    tokenStore: options.tokenStore,
  })
  let client: ClientAuthentication | undefined
  let requestedScopes: string[] | undefined
  let mustAuthorize = false
  // A registration (or CIMD choice) belongs to one AS: a new AS means a new client (SEP-2352).
  session.onIssuerChange = () => {
    client = undefined
    requestedScopes = undefined
  }

  const resolveClient = async (
    metadata: AuthorizationServerMetadata,
  ): Promise<ClientAuthentication> => {
    if (client !== undefined) return client
    let chosen: ClientAuthentication
    if (options.clientId !== undefined) {
      chosen =
        options.clientSecret !== undefined
          ? {
              method: secretMethod(metadata.token_endpoint_auth_methods_supported),
              clientId: options.clientId,
              clientSecret: options.clientSecret,
            }
          : { method: 'none', clientId: options.clientId }
    } else if (
      options.clientMetadataUrl !== undefined &&
      metadata.client_id_metadata_document_supported === true
    ) {
      chosen = { method: 'none', clientId: options.clientMetadataUrl }
    } else if (typeof metadata.registration_endpoint === 'string') {
      const registered = await registerClient(
        metadata.issuer,
        {
          client_name: 'DAuth client',
          redirect_uris: [options.redirectUri],
          grant_types: ['authorization_code', 'refresh_token'],
          response_types: ['code'],
          token_endpoint_auth_method: 'none',
          // SEP-837 / OIDC DCR: loopback and custom-scheme redirects are native apps.
          application_type: isNativeRedirect(options.redirectUri) ? 'native' : 'web',
          ...(options.dpop !== undefined ? { dpop_bound_access_tokens: true } : {}),
          ...options.clientMetadata,
        },
        {
          registrationEndpoint: metadata.registration_endpoint,
          fetch: session.config.fetch,
          ...(options.initialAccessToken !== undefined
            ? { initialAccessToken: options.initialAccessToken }
            : {}),
        },
      )
      // Authenticate as the AS registered us (RFC 7591 §3.2.1 echoes the method it chose).
      const method = registered.token_endpoint_auth_method
      chosen =
        typeof registered.client_secret === 'string' && method !== 'none'
          ? {
              method:
                method === 'client_secret_post' || method === 'client_secret_basic'
                  ? method
                  : secretMethod(metadata.token_endpoint_auth_methods_supported),
              clientId: registered.client_id,
              clientSecret: registered.client_secret,
            }
          : { method: 'none', clientId: registered.client_id }
    } else {
      throw new ConfigurationError(
        'No clientId, no usable clientMetadataUrl and no registration_endpoint',
      )
    }
    client = chosen
    return chosen
  }

  const tokenCall = async (
    params: URLSearchParams,
    clientAuth: ClientAuthentication,
  ): Promise<TokenSet> => {
    const endpoint = await session.tokenEndpoint()
    if (session.resource !== undefined) params.set('resource', session.resource)
    return requestToken({
      tokenEndpoint: endpoint.url,
      audience: endpoint.audience,
      params,
      client: clientAuth,
      dpopKey: await session.getDpopKey(),
      nonces: session.nonces,
      fetch: session.config.fetch,
      now: session.config.now(),
    })
  }

  const authorize = async (): Promise<TokenSet> => {
    const metadata = await session.getMetadata()
    if (metadata === undefined || session.issuer === undefined) {
      throw new ConfigurationError('The authorization server is not known')
    }
    if (typeof metadata.authorization_endpoint !== 'string') {
      throw new DiscoveryError(
        `Authorization server ${metadata.issuer} has no authorization_endpoint`,
        [],
      )
    }
    // MCP spec: without S256 in code_challenge_methods_supported the client must not proceed.
    if (!metadata.code_challenge_methods_supported?.includes('S256')) {
      throw new DiscoveryError(
        `Authorization server ${metadata.issuer} does not advertise PKCE S256`,
        [],
      )
    }
    const clientAuth = await resolveClient(metadata)
    const state = randomToken()
    const verifier = randomToken()
    const url = new URL(metadata.authorization_endpoint)
    url.searchParams.set('response_type', 'code')
    url.searchParams.set('client_id', clientAuth.clientId)
    url.searchParams.set('redirect_uri', options.redirectUri)
    if (session.scopes.length > 0) url.searchParams.set('scope', session.scopes.join(' '))
    url.searchParams.set('state', state)
    url.searchParams.set('code_challenge', await pkceChallenge(verifier))
    url.searchParams.set('code_challenge_method', 'S256')
    if (session.resource !== undefined) url.searchParams.set('resource', session.resource)
    const key = await session.getDpopKey()
    if (key !== undefined) url.searchParams.set('dpop_jkt', key.jkt) // RFC 9449 §10
    const scopes = [...session.scopes]

    const returned = await options.openBrowser(url)
    let redirect: URL
    if (returned !== undefined) redirect = new URL(returned)
    else if (options.redirectReceiver !== undefined)
      redirect = await options.redirectReceiver.waitForRedirect()
    else
      throw new ConfigurationError('openBrowser returned nothing and there is no redirectReceiver')

    const code = checkAuthorizationResponse(redirect, {
      state,
      issuer: session.issuer,
      issRequired: metadata.authorization_response_iss_parameter_supported === true,
    })
    const tokens = await tokenCall(
      new URLSearchParams({
        grant_type: 'authorization_code',
        code,
        redirect_uri: options.redirectUri,
        code_verifier: verifier,
      }),
      clientAuth,
    )
    requestedScopes = scopes
    return tokens
  }

  const refresh = async (refreshToken: string): Promise<TokenSet | undefined> => {
    const metadata = await session.getMetadata()
    if (metadata === undefined) return undefined
    try {
      return await tokenCall(
        new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshToken }),
        await resolveClient(metadata),
      )
    } catch (error) {
      if (error instanceof AuthorizationServerError && error.error === 'invalid_grant')
        return undefined
      throw error
    }
  }

  return {
    nonces: session.nonces,
    async getAccessToken() {
      if (session.needsDiscovery()) return undefined
      const valid = mustAuthorize ? undefined : await session.validAccessToken()
      if (valid !== undefined) return valid
      const tokens = await session.singleFlight(async () => {
        const current = await session.tokens()
        let next: TokenSet | undefined
        if (!mustAuthorize && current?.refreshToken !== undefined)
          next = await refresh(current.refreshToken)
        if (next === undefined) {
          await session.clear()
          next = await authorize()
        }
        mustAuthorize = false
        await session.save(next)
        return next
      })
      return { value: tokens.accessToken, type: tokens.tokenType }
    },
    getDpopKey: async () => session.getDpopKey(),
    invalidate() {
      session.dropAccessToken()
      return Promise.resolve(true)
    },
    stepUp(required) {
      const union = unionScopes(session.scopes, required)
      if (requestedScopes !== undefined && union.every((s) => requestedScopes!.includes(s))) {
        return Promise.resolve(false)
      }
      session.scopes = union
      // A refresh token cannot widen scope (RFC 6749 §6): ask the user again.
      mustAuthorize = true
      return Promise.resolve(true)
    },
    needsDiscovery: () => session.needsDiscovery(),
    applyDiscovery: (discovered) => session.applyDiscovery(discovered),
  }
}

/**
 * Validates an authorization response (RFC 6749 §4.1.2, RFC 9207 §2.4) and returns the code.
 * Order: `iss` first (mix-up defence applies to error responses too), then `state`, then
 * `error`, then `code`.
 */
export function checkAuthorizationResponse(
  redirect: URL,
  expected: { state: string; issuer: string; issRequired: boolean },
): string {
  const params = redirect.searchParams
  const iss = params.get('iss')
  if (iss !== null && iss !== expected.issuer) throw new AuthorizationResponseError('iss_mismatch')
  if (iss === null && expected.issRequired) throw new AuthorizationResponseError('iss_missing')
  if (params.get('state') !== expected.state) throw new AuthorizationResponseError('state_mismatch')
  const error = params.get('error')
  if (error !== null) throw new AuthorizationResponseError('error_response', error)
  const code = params.get('code')
  if (code === null || code === '') throw new AuthorizationResponseError('code_missing')
  return code
}

function isNativeRedirect(redirectUri: string): boolean {
  const url = new URL(redirectUri)
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return true
  return url.hostname === '127.0.0.1' || url.hostname === 'localhost' || url.hostname === '[::1]'
}

/** RFC 8414 §2: `client_secret_basic` is the default when the AS lists no methods. */
function secretMethod(
  supported: readonly string[] | undefined,
): 'client_secret_basic' | 'client_secret_post' {
  if (supported === undefined || supported.includes('client_secret_basic'))
    return 'client_secret_basic'
  return supported.includes('client_secret_post') ? 'client_secret_post' : 'client_secret_basic'
}
