import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

export interface RecordedRequest {
  method: string
  path: string
  url: URL
  headers: Record<string, string | string[] | undefined>
  body: string
}

export type Handler = (
  req: IncomingMessage,
  res: ServerResponse,
  recorded: RecordedRequest,
) => void | Promise<void>

export interface StubServer {
  url: string
  requests: RecordedRequest[]
  close(): Promise<void>
}

/** A loopback HTTP server that records every request (body included) before handling it. */
export async function startStub(handler: Handler): Promise<StubServer> {
  const requests: RecordedRequest[] = []
  let base = ''
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const url = new URL(req.url ?? '/', base)
      const recorded: RecordedRequest = {
        method: req.method ?? 'GET',
        path: url.pathname,
        url,
        headers: { ...req.headers },
        body: Buffer.concat(chunks).toString('utf8'),
      }
      requests.push(recorded)
      Promise.resolve(handler(req, res, recorded)).catch((error: unknown) => {
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' })
        res.end(JSON.stringify({ error: 'server_error', error_description: String(error) }))
      })
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  return {
    url: base,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

export function json(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers })
  res.end(JSON.stringify(body))
}

/** Decodes a compact JWS's header and payload without verifying it. */
export function decodeJwt(jwt: string): {
  header: Record<string, unknown>
  payload: Record<string, unknown>
} {
  const [h, p] = jwt.split('.')
  return {
    header: JSON.parse(Buffer.from(h!, 'base64url').toString('utf8')),
    payload: JSON.parse(Buffer.from(p!, 'base64url').toString('utf8')),
  }
}

export function header(recorded: RecordedRequest, name: string): string | undefined {
  const value = recorded.headers[name.toLowerCase()]
  return Array.isArray(value) ? value.join(', ') : value
}
