import type { DpopKeyPair } from '@dauth/protocol'
import { ConfigurationError } from '../errors.ts'
import type { Clock, FetchLike } from '../internal/http.ts'
import type { ClientAuthentication } from '../oauth/clientAuthentication.ts'
import type { TokenStore } from '../tokens/store.ts'
import { tokenGrantAuth } from './session.ts'
import type { ClientAuth } from './types.ts'

/** Options of {@link ClientCredentialsAuth}. */
export interface ClientCredentialsAuthOptions {
  /** AS issuer identifier; its metadata is discovered (RFC 8414, then OIDC). Omit both this and `tokenEndpoint` to learn it from the resource's metadata. */
  readonly issuer?: string
  /** Token endpoint, when the AS has no discoverable metadata. */
  readonly tokenEndpoint?: string
  readonly clientId: string
  /** Shared secret (`client_secret_basic` unless `tokenEndpointAuthMethod` says `client_secret_post`). */
  readonly clientSecret?: string
  /** Private JWK for `private_key_jwt` (RFC 7523): EC P-256, Ed25519 or RSA; `kid` is sent. */
  readonly privateKeyJwk?: JsonWebKey & { kid?: string }
  readonly tokenEndpointAuthMethod?: 'client_secret_basic' | 'client_secret_post'
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

/**
 * OAuth 2.1 client credentials grant: requests tokens with `resource` (RFC 8707) and, when
 * `dpop` is set, a DPoP proof (handling `use_dpop_nonce` at the AS); caches each token until
 * shortly before it expires; step-up requests the union of current and required scopes.
 *
 * @example
 * ```ts
 * const auth = ClientCredentialsAuth({
 *   issuer: 'http://localhost:4000', clientId, clientSecret,
 *   resource: 'http://localhost:4100/mcp', scope: 'read', dpop: true,
 * })
 * const client = await MCPClient.connect('http://localhost:4100/mcp', { auth })
 * ```
 */
export function ClientCredentialsAuth(options: ClientCredentialsAuthOptions): ClientAuth {
  if ((options.clientSecret === undefined) === (options.privateKeyJwk === undefined)) {
    throw new ConfigurationError(
      'ClientCredentialsAuth needs exactly one of clientSecret or privateKeyJwk',
    )
  }
  const client: ClientAuthentication =
    options.privateKeyJwk !== undefined
      ? {
          method: 'private_key_jwt',
          clientId: options.clientId,
          privateKeyJwk: options.privateKeyJwk,
        }
      : {
          method: options.tokenEndpointAuthMethod ?? 'client_secret_basic',
          clientId: options.clientId,
          clientSecret: options.clientSecret ?? '',
        }
  return tokenGrantAuth(options, () =>
    Promise.resolve({ params: new URLSearchParams({ grant_type: 'client_credentials' }), client }),
  )
}
