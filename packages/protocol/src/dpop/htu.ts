/**
 * Normalises an HTTP target URI for the DPoP `htu` comparison (RFC 9449 §4.3 check 9,
 * RFC 3986 §6.2.2–6.2.3 syntax- and scheme-based normalisation): scheme and host lower-case,
 * default port dropped, dot segments resolved, empty path becomes `/`, query, fragment and
 * userinfo removed. The path is otherwise kept exactly (`/mcp` and `/mcp/` differ).
 * Only `http:` and `https:` are accepted; anything else throws a `TypeError`.
 *
 * @example
 * ```ts
 * normalizeHtu('HTTPS://Example.COM:443/mcp?x=1#f') // 'https://example.com/mcp'
 * ```
 */
export function normalizeHtu(url: string | URL): string {
  const parsed = new URL(url)
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') {
    throw new TypeError('htu must be an http(s) URL')
  }
  // WHATWG URL already lower-cases scheme and host, drops the default port and resolves dots.
  return `${parsed.protocol}//${parsed.host}${parsed.pathname}`
}
