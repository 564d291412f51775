// A deliberately observable third-party API (ARCHITECTURE.md §6). It tells its caller which
// credential it received only as a SHA-256, so tests can prove the enclave injected exactly
// the sealed credential while nothing here ever writes the credential itself anywhere.
import { createHash } from 'node:crypto'
import { createServer } from 'node:https'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

/** Options of {@link startDemoUpstream}. */
export interface DemoUpstreamOptions {
  /** TCP port; 0 picks a free one. */
  port: number
  /** Loopback addresses to listen on (default 127.0.0.1 and ::1, as `localhost` resolves to either). */
  hosts?: readonly string[]
  certPem: string
  keyPem: string
  /** One JSON log line per request and per TLS connection; never a credential. */
  log?: (entry: Record<string, unknown>) => void
}

/** A running demo upstream. */
export interface DemoUpstream {
  /** `https://localhost:<port>` */
  url: string
  port: number
  /** TLS connections accepted since start: tests assert a refused dispatch opened none. */
  readonly connections: number
  /** Requests served since start, with method, path and credential hash only. */
  readonly requests: readonly DemoRequestRecord[]
  close(): Promise<void>
}

export interface DemoRequestRecord {
  method: string
  path: string
  via: CredentialVia | null
  credential_sha256: string | null
}

type CredentialVia = 'bearer' | 'header' | 'basic' | 'query'

const MAX_BIG_BYTES = 64 * 1024 * 1024
const MAX_SLOW_MS = 120_000

/**
 * Starts the demo upstream over HTTPS.
 *
 * @example
 * const upstream = await startDemoUpstream({ port: 0, certPem, keyPem })
 * // GET ${upstream.url}/user with `Authorization: Bearer x` → {"login":"demo","via":"bearer",…}
 */
export async function startDemoUpstream(options: DemoUpstreamOptions): Promise<DemoUpstream> {
  const log = options.log ?? (() => undefined)
  const requests: DemoRequestRecord[] = []
  let connections = 0
  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    try {
      handle(req, res, (record) => {
        requests.push(record)
        log({ msg: 'request', ...record })
      })
    } catch {
      // Never echo an internal error: this server is a test fixture, not a debugging aid.
      if (!res.headersSent) sendJson(res, 500, { error: 'server_error' })
    }
  }
  const hosts = options.hosts ?? ['127.0.0.1', '::1']
  const servers = hosts.map(() =>
    createServer({ cert: options.certPem, key: options.keyPem }, handler).on(
      'secureConnection',
      () => {
        connections += 1
        log({ msg: 'connection' })
      },
    ),
  )
  let port = options.port
  for (const [index, server] of servers.entries()) {
    const host = hosts[index] ?? '127.0.0.1'
    try {
      port = await listen(server, port, host)
    } catch (error) {
      // A machine without IPv6 loopback still serves on 127.0.0.1.
      if (host === '::1') servers.splice(index, 1)
      else throw error
    }
  }
  const url = `https://localhost:${port}`
  log({ msg: 'listening', url })
  return {
    url,
    port,
    get connections() {
      return connections
    },
    requests,
    async close() {
      await Promise.all(
        servers.map(
          (server) =>
            new Promise<void>((resolve) => {
              server.close(() => resolve())
              server.closeAllConnections()
            }),
        ),
      )
    },
  }
}

function listen(
  server: ReturnType<typeof createServer>,
  port: number,
  host: string,
): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => {
      server.off('error', reject)
      resolve((server.address() as AddressInfo).port)
    })
  })
}

function handle(
  req: IncomingMessage,
  res: ServerResponse,
  record: (r: DemoRequestRecord) => void,
): void {
  const url = new URL(req.url ?? '/', 'https://upstream.invalid')
  const credential = findCredential(req, url)
  const credentialSha256 = credential
    ? createHash('sha256').update(credential.value).digest('base64url')
    : null
  record({
    method: req.method ?? '',
    path: url.pathname,
    via: credential?.via ?? null,
    credential_sha256: credentialSha256,
  })

  if (req.method !== 'GET') return sendJson(res, 405, { error: 'method_not_allowed' })
  switch (url.pathname) {
    case '/healthz':
      return sendJson(res, 200, { status: 'ok' })
    case '/user':
      if (!credential) {
        res.setHeader('WWW-Authenticate', 'Bearer realm="demo-upstream"')
        return sendJson(res, 401, { error: 'unauthorized' })
      }
      return sendJson(res, 200, {
        login: 'demo',
        host: req.headers.host ?? '',
        via: credential.via,
        credential_sha256: credentialSha256,
      })
    case '/echo':
      // Hostile on purpose: reflects the secret so that the enclave's redaction is testable.
      return sendJson(res, 200, {
        headers: req.headers,
        query: Object.fromEntries(url.searchParams),
      })
    case '/redirect': {
      const to = url.searchParams.get('to')
      if (!to || !URL.canParse(to)) return sendJson(res, 400, { error: 'invalid_request' })
      res.writeHead(302, { Location: to, 'Content-Length': '0' })
      return void res.end()
    }
    case '/big': {
      const bytes = Math.min(Number(url.searchParams.get('bytes') ?? '0') || 0, MAX_BIG_BYTES)
      res.writeHead(200, {
        'Content-Type': 'application/octet-stream',
        'Content-Length': String(bytes),
      })
      return void res.end(Buffer.alloc(bytes, 0x61))
    }
    case '/slow': {
      const ms = Math.min(Number(url.searchParams.get('ms') ?? '0') || 0, MAX_SLOW_MS)
      const timer = setTimeout(() => sendJson(res, 200, { slept_ms: ms }), ms)
      res.on('close', () => clearTimeout(timer))
      return
    }
    default:
      return sendJson(res, 404, { error: 'not_found' })
  }
}

/** RFC 9110 auth schemes are case-insensitive; the order is the one ARCHITECTURE.md §6 fixes. */
function findCredential(
  req: IncomingMessage,
  url: URL,
): { via: CredentialVia; value: string } | null {
  const authorization = req.headers.authorization ?? ''
  const bearer = /^Bearer +(\S+)$/i.exec(authorization)
  if (bearer?.[1]) return { via: 'bearer', value: bearer[1] }
  const basic = /^Basic +(\S+)$/i.exec(authorization)
  if (basic?.[1]) {
    const decoded = Buffer.from(basic[1], 'base64').toString('utf8')
    const colon = decoded.indexOf(':')
    if (colon >= 0) return { via: 'basic', value: decoded.slice(colon + 1) }
  }
  const apiKey = req.headers['x-api-key']
  if (typeof apiKey === 'string' && apiKey.length > 0) return { via: 'header', value: apiKey }
  const query = url.searchParams.get('api_key')
  if (query) return { via: 'query', value: query }
  return null
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body)
  res.writeHead(status, {
    'Content-Type': 'application/json',
    'Content-Length': String(Buffer.byteLength(text)),
  })
  res.end(text)
}
