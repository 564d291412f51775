import { generateDpopKeyPair, type DpopKeyPair } from '@dauth/protocol'
import {
  discoverAuthorizationServerMetadata,
  type AuthorizationServerMetadata,
} from '../discovery/authorizationServer.ts'
import { DpopNonceCache } from '../dpop/nonces.ts'
import { ConfigurationError, DiscoveryError } from '../errors.ts'
import {
  defaultFetch,
  splitScope,
  systemClock,
  unionScopes,
  type Clock,
  type FetchLike,
} from '../internal/http.ts'
import type { ClientAuthentication } from '../oauth/clientAuthentication.ts'
import { requestToken, type TokenSet } from '../oauth/tokenRequest.ts'
import type { StoredTokens, TokenStore, TokenStoreKey } from '../tokens/store.ts'
import type { AccessToken, ClientAuth, DiscoveredAuthorization } from './types.ts'

export interface SessionConfig {
  readonly issuer: string | undefined
  readonly tokenEndpoint: string | undefined
  readonly resource: string | undefined
  readonly scopes: readonly string[]
  readonly dpop: DpopKeyPair | true | undefined
  readonly fetch: FetchLike
  readonly now: Clock
  readonly expirySkewSeconds: number
  readonly tokenStore: TokenStore | undefined
}

/**
 * State shared by the OAuth flows: where the AS is, what resource and scopes tokens are for,
 * the DPoP key and nonces, and the current token set (cached until near expiry).
 * Internal: the public surface is the `ClientAuth` the flows return.
 */
export class OAuthSession {
  issuer: string | undefined
  resource: string | undefined
  scopes: string[]
  metadata: AuthorizationServerMetadata | undefined
  readonly nonces = new DpopNonceCache()
  readonly config: SessionConfig
  #tokenEndpoint: string | undefined
  #key: Promise<DpopKeyPair> | undefined
  #tokens: TokenSet | undefined
  #loaded = false
  #inflight: Promise<TokenSet> | undefined

  constructor(config: SessionConfig) {
    this.config = config
    this.issuer = config.issuer
    this.resource = config.resource
    this.scopes = [...config.scopes]
    this.#tokenEndpoint = config.tokenEndpoint
    if (config.dpop !== undefined && config.dpop !== true) this.#key = Promise.resolve(config.dpop)
  }

  needsDiscovery(): boolean {
    return (
      (this.issuer === undefined && this.#tokenEndpoint === undefined) ||
      this.resource === undefined
    )
  }

  /** Called when discovery moved the resource to another authorization server (SEP-2352). */
  onIssuerChange: (() => void) | undefined

  async applyDiscovery(discovered: DiscoveredAuthorization): Promise<void> {
    if (this.issuer !== undefined && !discovered.authorizationServers.includes(this.issuer)) {
      // Credentials go only to the AS they were configured for.
      if (this.config.issuer !== undefined) {
        throw new ConfigurationError(
          `The resource does not list the configured issuer ${this.issuer} in authorization_servers`,
        )
      }
      // SEP-2352: the resource moved to another AS. Nothing obtained from the old one
      // (client registration, tokens, endpoints) may be presented to the new one.
      this.issuer = undefined
      this.metadata = undefined
      this.#tokens = undefined
      this.#loaded = false
      if (this.config.tokenEndpoint === undefined) this.#tokenEndpoint = undefined
      this.onIssuerChange?.()
    }
    if (this.issuer === undefined) {
      const first = discovered.authorizationServers[0]
      if (first === undefined) {
        throw new DiscoveryError('Protected resource metadata lists no authorization_servers', [])
      }
      this.issuer = first
    }
    this.resource ??= discovered.resource
    if (this.scopes.length === 0) this.scopes = [...discovered.scopes]
    if (this.#tokenEndpoint === undefined && this.metadata === undefined) {
      this.metadata = await discovered.metadataFor(this.issuer)
    }
  }

  /** AS metadata, discovered once when an issuer is known. */
  async getMetadata(): Promise<AuthorizationServerMetadata | undefined> {
    if (this.metadata === undefined && this.issuer !== undefined) {
      this.metadata = await discoverAuthorizationServerMetadata(this.issuer, {
        fetch: this.config.fetch,
      })
    }
    return this.metadata
  }

  async tokenEndpoint(): Promise<{ url: string; audience: string }> {
    if (this.#tokenEndpoint !== undefined) {
      return { url: this.#tokenEndpoint, audience: this.issuer ?? this.#tokenEndpoint }
    }
    const metadata = await this.getMetadata()
    if (metadata === undefined || this.issuer === undefined) {
      throw new ConfigurationError('Neither issuer nor tokenEndpoint is known')
    }
    if (typeof metadata.token_endpoint !== 'string') {
      throw new DiscoveryError(`Authorization server ${this.issuer} has no token_endpoint`, [])
    }
    this.#tokenEndpoint = metadata.token_endpoint
    return { url: metadata.token_endpoint, audience: this.issuer }
  }

  getDpopKey(): Promise<DpopKeyPair> | undefined {
    if (this.config.dpop === undefined) return undefined
    return (this.#key ??= generateDpopKeyPair('ES256'))
  }

  #storeKey(): TokenStoreKey | undefined {
    if (this.issuer === undefined || this.resource === undefined) return undefined
    return { issuer: this.issuer, resource: this.resource }
  }

  /** The current token set (loaded from the store once), valid or not. */
  async tokens(): Promise<TokenSet | undefined> {
    if (!this.#loaded && this.config.tokenStore !== undefined) {
      const key = this.#storeKey()
      if (key !== undefined) {
        this.#loaded = true
        const stored = await this.config.tokenStore.get(key)
        const jkt = (await this.getDpopKey())?.jkt
        // A token bound to another DPoP key is useless to this key (RFC 9449 §6).
        if (stored !== undefined && stored.dpopJkt === jkt && this.#tokens === undefined) {
          this.#tokens = {
            accessToken: stored.accessToken,
            tokenType: stored.tokenType,
            expiresAt: stored.expiresAt,
            refreshToken: stored.refreshToken,
            scope: stored.scope,
          }
          if (stored.scope !== undefined)
            this.scopes = unionScopes(this.scopes, stored.scope.split(' '))
        }
      }
    }
    return this.#tokens
  }

  /** The access token when it is not within `expirySkewSeconds` of expiry. */
  async validAccessToken(): Promise<AccessToken | undefined> {
    const tokens = await this.tokens()
    if (tokens === undefined || tokens.accessToken === '') return undefined
    if (
      tokens.expiresAt !== undefined &&
      this.config.now() >= tokens.expiresAt - this.config.expirySkewSeconds
    ) {
      return undefined
    }
    return { value: tokens.accessToken, type: tokens.tokenType }
  }

  async save(tokens: TokenSet): Promise<void> {
    const previous = this.#tokens
    // RFC 6749 §6: the AS may omit a new refresh token; the old one stays valid then.
    this.#tokens = { ...tokens, refreshToken: tokens.refreshToken ?? previous?.refreshToken }
    const key = this.#storeKey()
    if (this.config.tokenStore !== undefined && key !== undefined) {
      const jkt = (await this.getDpopKey())?.jkt
      const stored: StoredTokens = {
        accessToken: this.#tokens.accessToken,
        tokenType: this.#tokens.tokenType,
        ...(this.#tokens.expiresAt !== undefined ? { expiresAt: this.#tokens.expiresAt } : {}),
        ...(this.#tokens.refreshToken !== undefined
          ? { refreshToken: this.#tokens.refreshToken }
          : {}),
        ...(this.scopes.length > 0 ? { scope: this.scopes.join(' ') } : {}),
        ...(jkt !== undefined ? { dpopJkt: jkt } : {}),
      }
      await this.config.tokenStore.set(key, stored)
    }
  }

  /** Forgets the access token, keeping a refresh token. */
  dropAccessToken(): void {
    if (this.#tokens !== undefined)
      this.#tokens = { ...this.#tokens, accessToken: '', expiresAt: 0 }
  }

  /** Forgets everything (refresh token included). */
  async clear(): Promise<void> {
    this.#tokens = undefined
    const key = this.#storeKey()
    if (this.config.tokenStore !== undefined && key !== undefined)
      await this.config.tokenStore.delete(key)
  }

  /** Runs `obtain` once at a time: concurrent callers share one token request. */
  singleFlight(obtain: () => Promise<TokenSet>): Promise<TokenSet> {
    this.#inflight ??= obtain().finally(() => {
      this.#inflight = undefined
    })
    return this.#inflight
  }
}

/**
 * The {@link ClientAuth} of a grant that needs no user (client credentials, JWT bearer):
 * `obtain` requests a token, saves it in `session` and returns the scopes it asked for.
 * Tokens are cached until near expiry and obtained single-flight; step-up asks for the union
 * of scopes, and refuses when the last request already asked for all of them (asking again
 * cannot help).
 */
export function grantAuth(
  session: OAuthSession,
  obtain: () => Promise<readonly string[]>,
): ClientAuth {
  let requestedScopes: readonly string[] | undefined
  return {
    nonces: session.nonces,
    async getAccessToken() {
      if (session.needsDiscovery()) return undefined
      const valid = await session.validAccessToken()
      if (valid !== undefined) return valid
      const tokens = await session.singleFlight(async () => {
        requestedScopes = await obtain()
        return (await session.tokens())!
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
      session.dropAccessToken()
      return Promise.resolve(true)
    },
    needsDiscovery: () => session.needsDiscovery(),
    applyDiscovery: (discovered) => session.applyDiscovery(discovered),
  }
}

/**
 * What every token grant that needs no user (`ClientCredentialsAuthOptions`,
 * `JwtBearerAuthOptions`) is configured with: where to ask, for what, and what to keep.
 */
export interface TokenGrantOptions {
  /** AS issuer identifier; its metadata is discovered (RFC 8414, then OIDC). Omit both this and `tokenEndpoint` to learn it from the resource's metadata. */
  readonly issuer?: string
  /** Token endpoint, when the AS has no discoverable metadata. */
  readonly tokenEndpoint?: string
  /** RFC 8707 resource the tokens are for; learned from discovery when omitted. */
  readonly resource?: string
  readonly scope?: string | readonly string[]
  /** DPoP-bind the tokens (RFC 9449) with this key, or a generated non-extractable one (`true`). */
  readonly dpop?: DpopKeyPair | true
  readonly fetch?: FetchLike
  /** Clock in seconds since the epoch (tests inject one). */
  readonly now?: Clock
  /** A token is renewed this many seconds before it expires (default 30). */
  readonly expirySkewSeconds?: number
  readonly tokenStore?: TokenStore
}

/** One grant's own part of a token request: its parameters and how the client authenticates. */
export interface GrantRequest {
  readonly params: URLSearchParams
  readonly client: ClientAuthentication
}

/**
 * A {@link ClientAuth} for a grant that needs no user (client credentials, JWT bearer): the
 * session, the `resource` (RFC 8707) and `scope` parameters, DPoP and the token cache are the
 * same for each; `grant` supplies the grant's parameters for the token endpoint it is given.
 */
export function tokenGrantAuth(
  options: TokenGrantOptions,
  grant: (
    endpoint: { url: string; audience: string },
    session: OAuthSession,
  ) => Promise<GrantRequest>,
): ClientAuth {
  const session = new OAuthSession({
    issuer: options.issuer,
    tokenEndpoint: options.tokenEndpoint,
    resource: options.resource,
    scopes: splitScope(options.scope),
    dpop: options.dpop,
    fetch: options.fetch ?? defaultFetch,
    now: options.now ?? systemClock,
    expirySkewSeconds: options.expirySkewSeconds ?? 30,
    tokenStore: options.tokenStore,
  })
  const obtain = async (): Promise<readonly string[]> => {
    const endpoint = await session.tokenEndpoint()
    const { params, client } = await grant(endpoint, session)
    if (session.resource !== undefined) params.set('resource', session.resource)
    if (session.scopes.length > 0) params.set('scope', session.scopes.join(' '))
    const scopes = [...session.scopes]
    const tokens = await requestToken({
      tokenEndpoint: endpoint.url,
      audience: endpoint.audience,
      params,
      client,
      dpopKey: await session.getDpopKey(),
      nonces: session.nonces,
      fetch: session.config.fetch,
      now: session.config.now(),
    })
    await session.save(tokens)
    return scopes
  }
  return grantAuth(session, obtain)
}
