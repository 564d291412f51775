import { ConfigurationError } from '../errors.ts'
import { tokenGrantAuth, type TokenGrantOptions } from './session.ts'
import type { ClientAuth } from './types.ts'

/** RFC 7523 §2.1 grant type. */
export const JWT_BEARER_GRANT_TYPE = 'urn:ietf:params:oauth:grant-type:jwt-bearer'

/** What a JWT bearer assertion is requested for. */
export interface AssertionTarget {
  readonly issuer: string
  readonly resource: string | undefined
  readonly scopes: readonly string[]
}

/** Options of {@link JwtBearerAuth}. */
export interface JwtBearerAuthOptions extends TokenGrantOptions {
  /**
   * The JWT presented as the authorization grant (e.g. a workload identity token whose `aud`
   * is the AS issuer), or a function returning a fresh one for each token request — it is
   * told the (possibly discovered) issuer, resource and scopes, e.g. to get an ID-JAG for
   * them with `requestIdJag`.
   */
  readonly assertion: string | ((target: AssertionTarget) => string | Promise<string>)
  /** Client id: `client_id` in the form (public client), or `client_secret_basic` with `clientSecret`. */
  readonly clientId: string
  readonly clientSecret?: string
}

/**
 * RFC 7523 JWT bearer grant — workload identity federation (MCP SEP-1933): the platform's
 * JWT is exchanged for an access token for the resource. An AS refusal (`invalid_grant`,
 * `invalid_scope`, `unauthorized_client`) is thrown as `AuthorizationServerError`; the
 * request is not retried and no other grant is tried. With `requestIdJag` as the
 * assertion source it is the enterprise-managed authorization flow (SEP-990).
 *
 * @example
 * ```ts
 * const auth = JwtBearerAuth({
 *   clientId: 'my-workload',
 *   assertion: () => readFile('/var/run/secrets/token', 'utf8'),
 * })
 * const client = await MCPClient.connect('https://mcp.example.com/mcp', { auth })
 *
 * // Enterprise-managed: ID token → ID-JAG at the IdP → access token at the AS
 * const ema = JwtBearerAuth({
 *   clientId, clientSecret,
 *   assertion: ({ issuer, resource }) => requestIdJag({
 *     tokenEndpoint: idpTokenEndpoint, idToken, clientId: idpClientId,
 *     audience: issuer, resource: resource!,
 *   }),
 * })
 * ```
 */
export function JwtBearerAuth(options: JwtBearerAuthOptions): ClientAuth {
  if (options.clientId === '') throw new ConfigurationError('JwtBearerAuth needs a clientId')
  return tokenGrantAuth(options, async (endpoint, session) => {
    const assertion =
      typeof options.assertion === 'string'
        ? options.assertion
        : await options.assertion({
            issuer: endpoint.audience,
            resource: session.resource,
            scopes: [...session.scopes],
          })
    if (assertion === '') throw new ConfigurationError('The JWT bearer assertion is empty')
    return {
      params: new URLSearchParams({ grant_type: JWT_BEARER_GRANT_TYPE, assertion }),
      client:
        options.clientSecret !== undefined
          ? {
              method: 'client_secret_basic',
              clientId: options.clientId,
              clientSecret: options.clientSecret,
            }
          : { method: 'none', clientId: options.clientId },
    }
  })
}
