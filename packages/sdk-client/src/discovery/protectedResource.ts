import { parseWwwAuthenticate } from '@dauth/protocol'
import { DiscoveryError, ResourceMismatchError } from '../errors.ts'
import { isRecord, type FetchLike } from '../internal/http.ts'
import { fetchFirstMetadata } from './fetchMetadata.ts'

/** OAuth 2.0 Protected Resource Metadata (RFC 9728 §2). Unknown members are kept. */
export interface ProtectedResourceMetadata {
  readonly resource: string
  readonly authorization_servers?: string[]
  readonly scopes_supported?: string[]
  readonly bearer_methods_supported?: string[]
  readonly dpop_signing_alg_values_supported?: string[]
  readonly dpop_bound_access_tokens_required?: boolean
  readonly [member: string]: unknown
}

/** What a `WWW-Authenticate` header tells a client (RFC 6750 §3, RFC 9728 §5.1). */
export interface ResourceChallenge {
  readonly scheme: string
  /** Absolute URL of the protected resource metadata, if the server named it. */
  readonly resourceMetadata: string | undefined
  /** Space-delimited scopes the server asks for. */
  readonly scope: string | undefined
  readonly error: string | undefined
}

/**
 * Reads the first `Bearer` or `DPoP` challenge of a `WWW-Authenticate` header.
 *
 * @example
 * ```ts
 * const c = parseResourceChallenge(res.headers.get('www-authenticate'))
 * c?.resourceMetadata // 'https://mcp.example.com/.well-known/oauth-protected-resource/mcp'
 * ```
 */
export function parseResourceChallenge(header: string | null): ResourceChallenge | undefined {
  if (header === null || header.trim() === '') return undefined
  let challenges
  try {
    challenges = parseWwwAuthenticate(header)
  } catch {
    return undefined
  }
  // Prefer a challenge that carries resource_metadata / error; servers may send both schemes.
  const relevant = challenges.filter((c) => /^(bearer|dpop)$/i.test(c.scheme))
  const chosen =
    relevant.find((c) => c.params.error !== undefined) ??
    relevant.find((c) => c.params.resource_metadata !== undefined) ??
    relevant[0]
  if (chosen === undefined) return undefined
  const merged: Record<string, string> = {}
  for (const c of relevant) for (const [k, v] of Object.entries(c.params)) merged[k] ??= v
  Object.assign(merged, chosen.params)
  return {
    scheme: chosen.scheme,
    resourceMetadata: merged.resource_metadata,
    scope: merged.scope,
    error: merged.error,
  }
}

/**
 * The protected resource metadata URLs to try, in the order of the MCP authorization spec
 * ("Protected Resource Metadata Discovery Requirements"): the challenge's `resource_metadata`
 * when present (and then only it); else the path-aware well-known URL
 * (`/.well-known/oauth-protected-resource/<path>`, RFC 9728 §3.1), then the root one.
 *
 * @example
 * ```ts
 * getProtectedResourceMetadataUrls('https://h.example/public/mcp')
 * // ['https://h.example/.well-known/oauth-protected-resource/public/mcp',
 * //  'https://h.example/.well-known/oauth-protected-resource']
 * ```
 */
export function getProtectedResourceMetadataUrls(
  serverUrl: string | URL,
  resourceMetadataUrl?: string,
): string[] {
  if (resourceMetadataUrl !== undefined) return [new URL(resourceMetadataUrl).href]
  const url = new URL(serverUrl)
  const root = new URL('/.well-known/oauth-protected-resource', url.origin).href
  const path = url.pathname.replace(/\/+$/, '')
  if (path === '') return [root]
  return [new URL(`/.well-known/oauth-protected-resource${path}`, url.origin).href, root]
}

/**
 * Checks that the metadata's `resource` identifies `serverUrl` (RFC 9728 §3.3; MCP spec:
 * the server URL itself or a parent path on the same origin). Throws {@link ResourceMismatchError}.
 */
export function checkResourceAllowed(serverUrl: string | URL, resource: string): void {
  const server = new URL(serverUrl)
  let res: URL
  try {
    res = new URL(resource)
  } catch {
    throw new ResourceMismatchError(stripQuery(server), resource)
  }
  const serverPath = server.pathname.endsWith('/') ? server.pathname : `${server.pathname}/`
  const resPath = res.pathname.endsWith('/') ? res.pathname : `${res.pathname}/`
  if (res.origin !== server.origin || !serverPath.startsWith(resPath) || res.hash !== '') {
    throw new ResourceMismatchError(stripQuery(server), resource)
  }
}

function stripQuery(url: URL): string {
  return `${url.origin}${url.pathname}`
}

/** Options of {@link discoverProtectedResourceMetadata}. */
export interface ProtectedResourceDiscoveryOptions {
  /** The `WWW-Authenticate` header of the 401 that started discovery. */
  readonly wwwAuthenticate?: string | null
  readonly fetch?: FetchLike
  /** Extra headers for every discovery request (e.g. `MCP-Protocol-Version`). */
  readonly headers?: Record<string, string>
}

/**
 * Discovers and validates the protected resource metadata of `serverUrl`: tries
 * {@link getProtectedResourceMetadataUrls} in order, then checks `resource`
 * ({@link checkResourceAllowed}). Throws {@link DiscoveryError} or {@link ResourceMismatchError}.
 *
 * @example
 * ```ts
 * const { metadata } = await discoverProtectedResourceMetadata('http://localhost:4100/mcp',
 *   { wwwAuthenticate: res.headers.get('www-authenticate') })
 * metadata.authorization_servers // ['http://localhost:4000']
 * ```
 */
export async function discoverProtectedResourceMetadata(
  serverUrl: string | URL,
  options: ProtectedResourceDiscoveryOptions = {},
): Promise<{
  metadata: ProtectedResourceMetadata
  url: string
  challenge: ResourceChallenge | undefined
}> {
  const challenge = parseResourceChallenge(options.wwwAuthenticate ?? null)
  const { candidate, body, attempted } = await fetchFirstMetadata(
    getProtectedResourceMetadataUrls(serverUrl, challenge?.resourceMetadata),
    'Protected resource metadata',
    String(serverUrl),
    options,
  )
  if (!isRecord(body) || typeof body.resource !== 'string') {
    throw new DiscoveryError(
      `Protected resource metadata at ${candidate} has no resource`,
      attempted,
    )
  }
  const metadata = body as ProtectedResourceMetadata
  checkResourceAllowed(serverUrl, metadata.resource)
  return { metadata, url: candidate, challenge }
}
