/**
 * OAuth 2.0 Protected Resource Metadata (RFC 9728).
 *
 * @module
 */

/** The RFC 9728 §2 document this SDK publishes. */
export interface ProtectedResourceMetadata {
  resource: string
  authorization_servers: string[]
  scopes_supported: string[]
  bearer_methods_supported: string[]
  dpop_signing_alg_values_supported?: string[]
  dpop_bound_access_tokens_required?: boolean
}

/** Default well-known path (RFC 9728 §3). */
export const PROTECTED_RESOURCE_METADATA_PATH = '/.well-known/oauth-protected-resource'

/**
 * The metadata URL of a resource (RFC 9728 §3.1): the well-known segment goes between the
 * host and the resource's path.
 *
 * @example
 * ```ts
 * getProtectedResourceMetadataUrl('http://localhost:4100/mcp')
 * // 'http://localhost:4100/.well-known/oauth-protected-resource/mcp'
 * ```
 */
export function getProtectedResourceMetadataUrl(
  resourceUrl: string,
  metadataPath: string = PROTECTED_RESOURCE_METADATA_PATH,
): string {
  const url = new URL(resourceUrl)
  const path = url.pathname === '/' ? '' : url.pathname.replace(/\/$/, '')
  return `${url.origin}${metadataPath}${path}`
}

/** Build the RFC 9728 document. */
export function buildProtectedResourceMetadata(options: {
  resourceUrl: string
  authorizationServers: readonly string[]
  scopesSupported: readonly string[]
  dpopAlgorithms: readonly string[] | undefined
  dpopRequired: boolean
}): ProtectedResourceMetadata {
  const document: ProtectedResourceMetadata = {
    resource: options.resourceUrl,
    authorization_servers: [...options.authorizationServers],
    scopes_supported: [...options.scopesSupported],
    bearer_methods_supported: ['header'],
  }
  if (options.dpopAlgorithms) {
    document.dpop_signing_alg_values_supported = [...options.dpopAlgorithms]
  }
  document.dpop_bound_access_tokens_required = options.dpopRequired
  return document
}
