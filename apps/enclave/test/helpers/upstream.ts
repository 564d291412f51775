import { createHash } from 'node:crypto'
import type { IncomingMessage } from 'node:http'
import { createServer } from 'node:https'
import type { Server } from 'node:https'
import type { AddressInfo } from 'node:net'

/**
 * Loopback HTTPS stand-in for a third-party API (mirrors the demo upstream of ARCHITECTURE.md §6)
 * that records how many TCP connections it saw and the SHA-256 of each credential received.
 */
export interface SeenRequest {
  method: string
  path: string
  host: string
  via: string
  credentialSha256: string
  headers: Record<string, string | string[] | undefined>
}

export interface TestUpstream {
  port: number
  host: string
  connections(): number
  requests: SeenRequest[]
  close(): Promise<void>
}

export function sha256b64url(value: string | Uint8Array): string {
  return createHash('sha256').update(value).digest('base64url')
}

function credentialOf(req: IncomingMessage, url: URL): { via: string; credential?: string } {
  const auth = req.headers.authorization
  if (auth?.startsWith('Bearer ')) return { via: 'bearer', credential: auth.slice(7) }
  if (auth?.startsWith('Basic ')) {
    const decoded = Buffer.from(auth.slice(6), 'base64').toString('latin1')
    return { via: 'basic', credential: decoded.slice(decoded.indexOf(':') + 1) }
  }
  const key = req.headers['x-api-key']
  if (typeof key === 'string') return { via: 'header', credential: key }
  const q = url.searchParams.get('api_key')
  if (q !== null) return { via: 'query', credential: q }
  return { via: 'none' }
}

export async function startTestUpstream(tls: {
  certPem: string
  keyPem: string
}): Promise<TestUpstream> {
  let connections = 0
  const requests: SeenRequest[] = []
  const server: Server = createServer({ cert: tls.certPem, key: tls.keyPem }, (req, res) => {
    const url = new URL(req.url ?? '/', 'https://upstream.invalid')
    const { via, credential } = credentialOf(req, url)
    requests.push({
      method: req.method ?? '',
      path: url.pathname,
      host: req.headers.host ?? '',
      via,
      credentialSha256: credential === undefined ? '' : sha256b64url(credential),
      headers: req.headers,
    })
    const json = (status: number, body: unknown, headers: Record<string, string> = {}): void => {
      res.writeHead(status, { 'content-type': 'application/json', ...headers })
      res.end(JSON.stringify(body))
    }
    switch (url.pathname) {
      case '/user':
        if (!credential) return json(401, { message: 'no credential' })
        return json(
          200,
          {
            login: 'demo',
            host: req.headers.host,
            via,
            credential_sha256: sha256b64url(credential),
          },
          {
            etag: '"v1"',
            'x-ratelimit-remaining': '42',
            'set-cookie': 'session=should-not-pass',
            'x-internal': 'dropped',
          },
        )
      case '/echo':
        return json(
          200,
          { headers: req.headers, query: Object.fromEntries(url.searchParams) },
          {
            'x-echo-auth': String(req.headers.authorization ?? ''),
            link: `<https://api.example/next?token=${encodeURIComponent(String(req.headers['x-api-key'] ?? ''))}>; rel="next"`,
          },
        )
      case '/redirect':
        res.writeHead(302, { location: url.searchParams.get('to') ?? '/' })
        res.end()
        return
      case '/big':
        res.writeHead(200, { 'content-type': 'application/octet-stream' })
        res.end(Buffer.alloc(Number(url.searchParams.get('bytes') ?? '0'), 0x61))
        return
      case '/slow':
        setTimeout(() => json(200, { slow: true }), Number(url.searchParams.get('ms') ?? '0'))
        return
      case '/status':
        return json(Number(url.searchParams.get('code') ?? '500'), { error: 'upstream said no' })
      case '/binary':
        res.writeHead(200, { 'content-type': 'application/octet-stream' })
        res.end(Buffer.from([0xff, 0xfe, 0x00, 0x01]))
        return
      default:
        return json(404, { message: 'not found' })
    }
  })
  server.on('connection', () => {
    connections += 1
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()))
  const port = (server.address() as AddressInfo).port
  return {
    port,
    host: `localhost:${port}`,
    connections: () => connections,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      }),
  }
}
