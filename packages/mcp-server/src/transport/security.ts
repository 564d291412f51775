/**
 * Transport security of the HTTP endpoint: Host and Origin allow-lists against DNS
 * rebinding (MCP transport spec "Security Warning"), and CORS for configured browser origins.
 *
 * @module
 */

/** Options of the transport checks (`MCPServer` option `transportSecurity`). */
export interface TransportSecurityOptions {
  /** On by default. Off only behind a proxy that enforces Host and Origin itself. */
  dnsRebindingProtection?: boolean
  /** Host header values accepted (`host[:port]`). Default: the resource URL's host plus its loopback forms. */
  allowedHosts?: readonly string[]
  /** Browser origins allowed to call the endpoint (they also get CORS headers). */
  allowedOrigins?: readonly string[]
  /** Maximum request body in bytes (default 4 MiB). */
  maxBodyBytes?: number
}

const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]'])

/** The Host values accepted by default for a resource URL. */
export function defaultAllowedHosts(resourceUrl: string): string[] {
  const url = new URL(resourceUrl)
  const hosts = new Set([url.host.toLowerCase()])
  if (LOOPBACK.has(url.hostname.toLowerCase())) {
    const port = url.port === '' ? '' : `:${url.port}`
    for (const name of LOOPBACK) hosts.add(`${name}${port}`)
  }
  return [...hosts]
}

/** Whether `host` (a Host header value) is allowed. */
export function isHostAllowed(host: string | null, allowed: readonly string[]): boolean {
  return host !== null && allowed.includes(host.toLowerCase())
}

/** CORS headers for an allowed origin. */
export function corsHeaders(origin: string): Record<string, string> {
  return {
    'access-control-allow-origin': origin,
    vary: 'Origin',
    // X-Request-Id: a browser client can quote the id of a failed call to an operator.
    'access-control-expose-headers':
      'WWW-Authenticate, DPoP-Nonce, Mcp-Session-Id, Mcp-Protocol-Version, X-Request-Id',
  }
}

/** CORS preflight answer headers. */
export function preflightHeaders(origin: string): Record<string, string> {
  return {
    ...corsHeaders(origin),
    'access-control-allow-methods': 'GET, POST, DELETE, OPTIONS',
    // Mcp-Method / Mcp-Name: the standard headers of every 2026-07-28 request (SEP-2243);
    // X-Request-Id and W3C trace context: a browser client may continue its own request id
    // and trace here.
    'access-control-allow-headers':
      'Authorization, DPoP, Content-Type, Accept, Mcp-Protocol-Version, Mcp-Session-Id, Last-Event-ID, Mcp-Method, Mcp-Name, X-Request-Id, traceparent, tracestate',
    'access-control-max-age': '600',
  }
}
