import { ConfigurationError } from '../errors.ts'
import type { ClientAuthentication } from '../oauth/clientAuthentication.ts'
import { tokenGrantAuth, type TokenGrantOptions } from './session.ts'
import type { ClientAuth } from './types.ts'

/** Options of {@link ClientCredentialsAuth}. */
export interface ClientCredentialsAuthOptions extends TokenGrantOptions {
  readonly clientId: string
  /** Shared secret (`client_secret_basic` unless `tokenEndpointAuthMethod` says `client_secret_post`). */
  readonly clientSecret?: string
  /** Private JWK for `private_key_jwt` (RFC 7523): EC P-256, Ed25519 or RSA; `kid` is sent. */
  readonly privateKeyJwk?: JsonWebKey & { kid?: string }
  readonly tokenEndpointAuthMethod?: 'client_secret_basic' | 'client_secret_post'
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
