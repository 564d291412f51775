/**
 * Authorization server metadata discovery (RFC 8414 §3, with the OIDC discovery fallback).
 *
 * @module
 */
import { MCPServerError } from '../errors.ts'

/** The RFC 8414 metadata fields this SDK reads. */
export interface AuthorizationServerMetadata {
  issuer: string
  jwks_uri?: string
  token_endpoint?: string
  [field: string]: unknown
}

/**
 * The RFC 8414 §3.1 well-known URL of an issuer: the well-known segment is inserted between
 * the host and the issuer's path (`https://as/tenant` → `https://as/.well-known/oauth-authorization-server/tenant`).
 */
export function getAuthorizationServerMetadataUrl(issuer: string): string {
  const url = new URL(issuer)
  const path = url.pathname === '/' ? '' : url.pathname.replace(/\/$/, '')
  return `${url.origin}/.well-known/oauth-authorization-server${path}`
}

/**
 * Fetch and validate an issuer's metadata: RFC 8414 first, then OIDC discovery. The `issuer`
 * in the document must equal the configured issuer exactly (RFC 8414 §3.3, mix-up defence).
 */
export async function discoverAuthorizationServer(
  issuer: string,
  fetchImpl: typeof fetch = fetch,
): Promise<AuthorizationServerMetadata> {
  const candidates = [
    getAuthorizationServerMetadataUrl(issuer),
    `${issuer.replace(/\/$/, '')}/.well-known/openid-configuration`,
  ]
  for (const url of candidates) {
    let response: Response
    try {
      response = await fetchImpl(url, {
        headers: { accept: 'application/json' },
        redirect: 'error',
        signal: AbortSignal.timeout(10_000),
      })
    } catch {
      continue
    }
    if (!response.ok) {
      await response.body?.cancel()
      continue
    }
    const document = (await response.json().catch(() => undefined)) as unknown
    if (
      typeof document === 'object' &&
      document !== null &&
      (document as { issuer?: unknown }).issuer === issuer
    ) {
      return document as AuthorizationServerMetadata
    }
  }
  throw new MCPServerError('ERR_DISCOVERY', 'Authorization server metadata unavailable')
}

/** Caches {@link discoverAuthorizationServer} per issuer for `ttlSeconds`, single-flight. */
export class AuthorizationServerMetadataCache {
  readonly #ttlMs: number
  readonly #fetch: typeof fetch
  readonly #now: () => number
  readonly #entries = new Map<string, { at: number; value: Promise<AuthorizationServerMetadata> }>()

  constructor(options: { ttlSeconds?: number; fetch?: typeof fetch; now?: () => number } = {}) {
    this.#ttlMs = (options.ttlSeconds ?? 300) * 1000
    this.#fetch = options.fetch ?? fetch
    this.#now = options.now ?? Date.now
  }

  /** The issuer's metadata, fetched at most once per TTL (a failure is not cached). */
  get(issuer: string): Promise<AuthorizationServerMetadata> {
    const now = this.#now()
    const entry = this.#entries.get(issuer)
    if (entry && now - entry.at < this.#ttlMs) return entry.value
    const value = discoverAuthorizationServer(issuer, this.#fetch)
    this.#entries.set(issuer, { at: now, value })
    value.catch(() => {
      if (this.#entries.get(issuer)?.value === value) this.#entries.delete(issuer)
    })
    return value
  }
}
