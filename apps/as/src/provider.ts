import Provider, {
  errors,
  type ClientMetadata,
  type Configuration,
  type KoaContextWithOIDC,
} from 'oidc-provider'
import type { ReplayStore } from '@dauth/protocol'
import type { SigningKeys } from './keys.ts'
import type { ResourceRegistry } from './registry/resources.ts'
import type { AccountStore, ConnectionStore, OidcModelStore } from './storage/types.ts'
import { createOidcAdapterFactory } from './storage/oidcAdapter.ts'
import { registerTokenExchangeGrant } from './grants/tokenExchange.ts'
import { messagePage } from './views/pages.ts'
import type { AsMetrics } from './metrics.ts'
import { asStorageError, STORAGE_RETRY_AFTER_SECONDS, StorageUnavailableError } from './errors.ts'
import { isPublicHostname } from './registry/publicHost.ts'
import { introspectJwtAccessToken, mayIntrospect, recordIssuedJwt } from './tokens/introspection.ts'

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]'])

/** Every oidc-provider endpoint lives under this prefix; the issuer itself has no path. */
export const OAUTH_PREFIX = '/oauth'

export const ROUTES = {
  authorization: `${OAUTH_PREFIX}/authorize`,
  token: `${OAUTH_PREFIX}/token`,
  jwks: `${OAUTH_PREFIX}/jwks`,
  registration: `${OAUTH_PREFIX}/register`,
  revocation: `${OAUTH_PREFIX}/revoke`,
  introspection: `${OAUTH_PREFIX}/introspect`,
  pushed_authorization_request: `${OAUTH_PREFIX}/par`,
  userinfo: `${OAUTH_PREFIX}/userinfo`,
  end_session: `${OAUTH_PREFIX}/session/end`,
  code_verification: `${OAUTH_PREFIX}/device`,
  device_authorization: `${OAUTH_PREFIX}/device/auth`,
  backchannel_authentication: `${OAUTH_PREFIX}/backchannel`,
  challenge: `${OAUTH_PREFIX}/challenge`,
} as const

/** Methods of the enabled fixed-path endpoints (405 + Allow for the others). */
const ENDPOINT_METHODS: Readonly<Record<string, readonly string[]>> = {
  [ROUTES.authorization]: ['GET', 'POST'],
  [ROUTES.token]: ['POST'],
  [ROUTES.jwks]: ['GET'],
  [ROUTES.registration]: ['POST'],
  [ROUTES.revocation]: ['POST'],
  [ROUTES.introspection]: ['POST'],
  [ROUTES.pushed_authorization_request]: ['POST'],
  [ROUTES.userinfo]: ['GET', 'POST'],
}

export interface ProviderDependencies {
  issuer: string
  dev: boolean
  enclaveUrl: string
  keys: SigningKeys
  cookieKeys: string[]
  dpopNonceSecret: Buffer
  clients: ClientMetadata[]
  registry: ResourceRegistry
  oidcStore: OidcModelStore
  connections: ConnectionStore
  accounts: AccountStore
  replay: ReplayStore
  now: () => number
  metrics: AsMetrics
}

function requestedScopes(ctx: KoaContextWithOIDC): string[] {
  const scope = (ctx.oidc.params as { scope?: unknown } | undefined)?.scope
  return typeof scope === 'string' && scope ? scope.split(' ') : []
}

function grantType(ctx: KoaContextWithOIDC): unknown {
  return (ctx.oidc.params as { grant_type?: unknown } | undefined)?.grant_type
}

/** Builds the oidc-provider instance with DAuth's policy (module docs: README.md). */
export function createProvider(deps: ProviderDependencies): Provider {
  const { registry } = deps
  const oidcScopes = ['openid', 'offline_access']

  const configuration: Configuration = {
    adapter: createOidcAdapterFactory(deps.oidcStore),
    clients: deps.clients,
    jwks: deps.keys.privateJwks,
    cookies: { keys: deps.cookieKeys },
    routes: { ...ROUTES },
    scopes: [...oidcScopes, ...registry.allScopes()],
    responseTypes: ['code'],
    pkce: { required: () => true },
    clientDefaults: {
      grant_types: ['authorization_code'],
      id_token_signed_response_alg: 'ES256',
      token_endpoint_auth_method: 'client_secret_basic',
      dpop_bound_access_tokens: true,
    },
    enabledJWA: {
      dPoPSigningAlgValues: ['ES256', 'EdDSA'],
    },
    findAccount: async (_ctx, sub) => {
      const account = await deps.accounts.findById(sub)
      if (!account) return undefined
      return {
        accountId: account.id,
        claims: () => ({ sub: account.id, preferred_username: account.username }),
      }
    },
    extraTokenClaims: async (_ctx, token) => {
      const resource = token.resourceServer?.identifier()
      const def = resource === undefined ? undefined : registry.get(resource)
      if (!def || def.connections.length === 0) return undefined
      const sub =
        token.kind === 'ClientCredentials'
          ? token.clientId
          : (token as { accountId?: string }).accountId
      if (!sub) return undefined
      const handles = await deps.connections.activeHandles(
        { iss: deps.issuer, sub },
        def.connections,
      )
      return Object.keys(handles).length > 0 ? { connections: handles } : undefined
    },
    formats: {
      customizers: {
        // Awaited before the token is returned: the issuance record (jti → grant) exists
        // as soon as the client holds the token (see tokens/introspection.ts).
        jwt: async (_ctx, token, jwt) => {
          const exp = jwt.payload.exp
          if (typeof exp === 'number') await recordIssuedJwt(deps.oidcStore, token, exp, deps.now())
        },
      },
    },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      introspection: {
        enabled: true,
        // Opaque tokens here are refresh tokens (access tokens are JWTs, see
        // tokens/introspection.ts): only their own client learns about them.
        allowedPolicy: (_ctx, client, token) =>
          mayIntrospect(registry, client.clientId, {
            clientId: token.clientId,
            aud: (token as { aud?: unknown }).aud,
            refresh: token.kind === 'RefreshToken',
          }),
      },
      revocation: {
        enabled: true,
        // A client revokes only its own tokens; anything else is the same silent 200 as an
        // unknown token (RFC 7009 §2.2), so the endpoint is no token-validity oracle.
        allowedPolicy: (_ctx, client, token) => client.clientId === token.clientId,
      },
      pushedAuthorizationRequests: { enabled: true, requirePushedAuthorizationRequests: false },
      registration: {
        enabled: true,
        initialAccessToken: !deps.dev,
      },
      registrationManagement: { enabled: true, rotateRegistrationAccessToken: true },
      dPoP: {
        enabled: true,
        nonceSecret: deps.dpopNonceSecret,
        requireNonce: () => false,
      },
      resourceIndicators: {
        enabled: true,
        // RFC 8707: every token names its one resource; none given = refused.
        defaultResource: (_ctx, _client, oneOf) => {
          if (oneOf && oneOf.length > 0) return oneOf
          throw new errors.InvalidTarget('the resource parameter is required')
        },
        useGrantedResource: () => true,
        getResourceServerInfo: (ctx, resourceIndicator, client) => {
          const def = registry.get(resourceIndicator)
          if (!def) throw new errors.InvalidTarget('unknown resource')
          if (def.clients && !def.clients.includes(client.clientId)) {
            throw new errors.InvalidTarget('this client may not obtain tokens for the resource')
          }
          const accepted = new Set([...def.scopes, ...oidcScopes])
          const clientScopes =
            typeof client.scope === 'string' ? new Set(client.scope.split(' ')) : undefined
          const isClientCredentials = grantType(ctx) === 'client_credentials'
          if (ctx.oidc.route !== 'token' || isClientCredentials) {
            for (const scope of requestedScopes(ctx)) {
              if (!accepted.has(scope) || (isClientCredentials && !def.scopes.includes(scope))) {
                throw new errors.InvalidScope(
                  'requested scope is not accepted by the resource',
                  scope,
                )
              }
              if (clientScopes && !clientScopes.has(scope)) {
                throw new errors.InvalidScope(
                  'requested scope is not allowed for this client',
                  scope,
                )
              }
            }
          }
          return {
            scope: def.scopes.join(' '),
            audience: def.resource,
            accessTokenTTL: def.accessTokenTtl,
            accessTokenFormat: 'jwt',
            jwt: { sign: { alg: 'ES256' } },
          }
        },
      },
      rpInitiatedLogout: { enabled: false },
      // Client ID Metadata Documents: https client_id URLs; oidc-provider's fetch refuses
      // special-use (private, loopback, link-local) addresses, i.e. no SSRF into the network.
      clientIdMetadataDocument: {
        enabled: true,
        ack: 'draft-02',
        allowFetch: async (_ctx, clientId) => isPublicHostname(new URL(clientId).hostname),
      },
    },
    ttl: {
      AccessToken: (_ctx, token) => token.resourceServer?.accessTokenTTL ?? 300,
      ClientCredentials: (_ctx, token) => token.resourceServer?.accessTokenTTL ?? 300,
      AuthorizationCode: 60,
      Interaction: 600,
      Session: 86400,
      Grant: 86400 * 14,
      IdToken: 300,
      RefreshToken: 86400 * 14,
    },
    // The validator sees the whole client metadata: it enforces the redirect URI policy for
    // static and dynamically registered clients alike (THREATS.md: no http, non-loopback).
    extraClientMetadata: {
      properties: ['dauth_policy'],
      validator: (_ctx, key, _value, metadata) => {
        if (key !== 'dauth_policy') return
        const uris = [...((metadata.redirect_uris as string[] | undefined) ?? [])]
        for (const uri of uris) {
          const url = URL.parse(uri)
          if (url?.protocol === 'http:' && !LOOPBACK_HOSTS.has(url.hostname)) {
            throw new errors.InvalidClientMetadata(
              'redirect_uris using http must use a loopback host',
            )
          }
        }
      },
    },
    renderError: (ctx, out) => {
      ctx.type = 'html'
      ctx.body = messagePage(
        'Request refused',
        typeof out.error_description === 'string' ? out.error_description : out.error,
      )
    },
    interactions: {
      url: (_ctx, interaction) => `/interaction/${interaction.uid}`,
    },
    // Refresh tokens for every client registered for the refresh_token grant (OAuth 2.1).
    issueRefreshToken: (_ctx, client) => client.grantTypeAllowed('refresh_token'),
    rotateRefreshToken: (ctx) => ctx.oidc.client?.clientAuthMethod === 'none',
  }

  const provider = new Provider(deps.issuer, configuration)
  // The issuer has no path while every endpoint is under OAUTH_PREFIX; request URLs are
  // pinned to the issuer (host/proto) by the mount, never taken from client headers.
  provider.proxy = true

  // Metrics: outermost, so it sees the final answer (after the introspection rewrite below).
  provider.use(async (ctx, next) => {
    await next()
    if (ctx.status >= 400 && typeof ctx.body === 'object' && ctx.body !== null)
      deps.metrics.failure((ctx.body as { error?: unknown }).error)
  })
  // oidc-provider answers a missing DPoP proof from a DPoP-bound client with a bare
  // "grant request is invalid": say what to do. Nothing secret: the client's own
  // registration says it is DPoP-bound.
  provider.use(async (ctx, next) => {
    await next()
    const body = ctx.body as { error?: unknown } | null
    if (
      ctx.status === 400 &&
      body?.error === 'invalid_grant' &&
      ctx.get('dpop') === '' &&
      (ctx.oidc as { client?: { dpopBoundAccessTokens?: boolean } } | undefined)?.client
        ?.dpopBoundAccessTokens === true
    ) {
      ctx.body = {
        error: 'invalid_grant',
        error_description:
          'this client is registered for DPoP-bound tokens: send a DPoP proof (RFC 9449), or register with dpop_bound_access_tokens false',
      }
    }
  })
  // Unknown paths and wrong methods under /oauth: JSON like the rest of the AS (Koa would
  // answer a text/plain "Not Found"), 405 + Allow for a known endpoint.
  provider.use(async (ctx, next) => {
    await next()
    if (ctx.status !== 404 || ctx.body != null) return
    const allowed = ENDPOINT_METHODS[ctx.path]
    ctx.set('cache-control', 'no-store')
    if (allowed && !allowed.includes(ctx.method)) {
      ctx.status = 405
      ctx.set('allow', allowed.join(', '))
      ctx.body = { error: 'invalid_request', error_description: 'Method not allowed' }
    } else {
      ctx.status = 404
      ctx.body = { error: 'not_found', error_description: 'Not found' }
    }
  })
  provider.on('grant.success', (ctx: KoaContextWithOIDC) => {
    deps.metrics.tokenIssued((ctx.oidc.params as { grant_type?: unknown } | undefined)?.grant_type)
  })

  // A storage outage (StorageUnavailableError from the adapter or the replay store) is
  // answered by oidc-provider as 503 temporarily_unavailable; add RFC 9110 Retry-After.
  provider.use(async (ctx, next) => {
    await next()
    if (ctx.status === 503) ctx.set('retry-after', String(STORAGE_RETRY_AFTER_SECONDS))
  })

  // RFC 7662 for JWT access tokens: oidc-provider authenticates the caller, then refuses
  // structured tokens with unsupported_token_type; answer from the issuance record instead.
  provider.use(async (ctx, next) => {
    await next()
    const oidcCtx = (ctx as Partial<KoaContextWithOIDC>).oidc
    const caller = oidcCtx?.client
    if (oidcCtx?.route !== 'introspection' || ctx.status !== 400 || !caller) return
    if ((ctx.body as { error?: unknown } | undefined)?.error !== 'unsupported_token_type') return
    const token = (oidcCtx.params as { token?: unknown } | undefined)?.token
    if (typeof token !== 'string') return
    ctx.type = 'application/json; charset=utf-8'
    try {
      ctx.body = await introspectJwtAccessToken(
        caller,
        {
          provider,
          registry,
          issuer: deps.issuer,
          keys: deps.keys,
          store: deps.oidcStore,
          accounts: deps.accounts,
          now: deps.now,
        },
        token,
      )
      ctx.status = 200
    } catch (error) {
      // Past oidc-provider's error handler: answer its way (JSON, no detail) ourselves.
      const outage = asStorageError(error)
      if (outage instanceof StorageUnavailableError) {
        ctx.status = 503
        ctx.body = { error: outage.error, error_description: outage.error_description }
      } else {
        ctx.status = 500
        ctx.body = { error: 'server_error', error_description: 'oops! something went wrong' }
        provider.emit('server_error', ctx, error)
      }
    }
  })

  // RFC 9449 §11.1: replay detection must be atomic and shared. oidc-provider's default
  // ReplayDetection.unique is find-then-save (racy); route it to the storage's unique insert.
  const replay = deps.replay
  Object.defineProperty(provider.ReplayDetection, 'unique', {
    configurable: true,
    value: (iss: string, jti: string, exp: number) =>
      replay.checkAndStore(`oidc-dpop:${iss}:${jti}`, exp),
  })

  // RFC 6749 §3.3: an authorization request without `scope` gets a pre-defined default,
  // the resource's declared scopes (within the client's registered `scope`, if any). The
  // consent page still lists them for the user. MCP clients commonly omit `scope`.
  provider.use(async (ctx, next) => {
    if (ctx.method === 'GET' && ctx.path === ROUTES.authorization) {
      const query = new URLSearchParams(ctx.querystring)
      const resources = query.getAll('resource')
      const clientId = query.get('client_id')
      const def = resources.length === 1 ? registry.get(resources[0] ?? '') : undefined
      if (def && clientId && !query.has('scope') && !query.has('request_uri')) {
        const client = await provider.Client.find(clientId).catch(() => undefined)
        const allowed =
          typeof client?.scope === 'string' ? new Set(client.scope.split(' ')) : undefined
        const scopes = def.scopes.filter((scope) => !allowed || allowed.has(scope))
        if (scopes.length > 0) {
          query.set('scope', scopes.join(' '))
          ctx.querystring = query.toString()
        }
      }
    }
    await next()
  })

  registerTokenExchangeGrant(provider, {
    issuer: deps.issuer,
    enclaveUrl: deps.enclaveUrl,
    keys: deps.keys,
    registry,
    connections: deps.connections,
    replay,
    now: deps.now,
  })

  return provider
}
