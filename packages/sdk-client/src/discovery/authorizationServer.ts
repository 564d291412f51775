import { DiscoveryError, IssuerMismatchError } from '../errors.ts'
import { isRecord, type FetchLike } from '../internal/http.ts'
import { fetchFirstMetadata } from './fetchMetadata.ts'

/** Authorization server metadata (RFC 8414 §2 / OpenID Connect Discovery). Unknown members are kept. */
export interface AuthorizationServerMetadata {
  readonly issuer: string
  readonly authorization_endpoint?: string
  readonly token_endpoint?: string
  readonly registration_endpoint?: string
  readonly scopes_supported?: string[]
  readonly response_types_supported?: string[]
  readonly grant_types_supported?: string[]
  readonly code_challenge_methods_supported?: string[]
  readonly token_endpoint_auth_methods_supported?: string[]
  readonly dpop_signing_alg_values_supported?: string[]
  readonly authorization_response_iss_parameter_supported?: boolean
  readonly client_id_metadata_document_supported?: boolean
  readonly [member: string]: unknown
}

/**
 * The metadata URLs to try for `issuer`, in the MCP authorization spec order
 * ("Authorization Server Metadata Discovery"):
 * with a path `/t`: `/.well-known/oauth-authorization-server/t`,
 * `/.well-known/openid-configuration/t`, `/t/.well-known/openid-configuration`;
 * without: `/.well-known/oauth-authorization-server`, `/.well-known/openid-configuration`.
 *
 * @example
 * ```ts
 * getAuthorizationServerMetadataUrls('http://localhost:4000')
 * // ['http://localhost:4000/.well-known/oauth-authorization-server',
 * //  'http://localhost:4000/.well-known/openid-configuration']
 * ```
 */
export function getAuthorizationServerMetadataUrls(issuer: string | URL): string[] {
  const url = new URL(issuer)
  const path = url.pathname.replace(/\/+$/, '')
  const at = (p: string): string => new URL(p, url.origin).href
  if (path === '') {
    return [at('/.well-known/oauth-authorization-server'), at('/.well-known/openid-configuration')]
  }
  return [
    at(`/.well-known/oauth-authorization-server${path}`),
    at(`/.well-known/openid-configuration${path}`),
    at(`${path}/.well-known/openid-configuration`),
  ]
}

/**
 * Fetches the authorization server metadata of `issuer`, trying
 * {@link getAuthorizationServerMetadataUrls} in order, and checks that the metadata's
 * `issuer` is exactly `issuer` (RFC 8414 §3.3). Throws {@link DiscoveryError} or
 * {@link IssuerMismatchError}.
 *
 * @example
 * ```ts
 * const as = await discoverAuthorizationServerMetadata('http://localhost:4000')
 * as.token_endpoint // 'http://localhost:4000/token'
 * ```
 */
export async function discoverAuthorizationServerMetadata(
  issuer: string,
  options: { fetch?: FetchLike; headers?: Record<string, string> } = {},
): Promise<AuthorizationServerMetadata> {
  const { candidate, body, attempted } = await fetchFirstMetadata(
    getAuthorizationServerMetadataUrls(issuer),
    'Authorization server metadata',
    issuer,
    options,
  )
  if (!isRecord(body) || typeof body.issuer !== 'string') {
    throw new DiscoveryError(
      `Authorization server metadata at ${candidate} has no issuer`,
      attempted,
    )
  }
  if (body.issuer !== issuer) throw new IssuerMismatchError(issuer, body.issuer)
  return body as AuthorizationServerMetadata
}
