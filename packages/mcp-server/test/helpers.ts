// Test stand-ins: an AS (RFC 8414 metadata + JWKS + token endpoint) over node:http, token
// minting with jose, raw JWS for hostile inputs, DPoP proofs, and an MCP request helper.
import { createPublicKey, generateKeyPairSync, type KeyObject, randomUUID, sign } from 'node:crypto'
import {
  createServer,
  type IncomingMessage,
  request,
  type Server,
  type ServerResponse,
} from 'node:http'
import type { AddressInfo } from 'node:net'
import {
  createDpopProof,
  type DpopKeyPair,
  generateDpopKeyPair,
  parseWwwAuthenticate,
} from '@dauth/protocol'
import { importJWK, type JWK, SignJWT } from 'jose'

export interface RecordedRequest {
  method: string
  url: string
  headers: IncomingMessage['headers']
  body: string
}

export interface StubAs {
  issuer: string
  kid: string
  privateKey: KeyObject
  publicJwk: JWK
  jwksFetches: number
  metadataFetches: number
  tokenRequests: RecordedRequest[]
  /** Replace to script the token endpoint. */
  onToken: (request: RecordedRequest, res: ServerResponse) => void
  /** Extra keys published in the JWKS. */
  extraKeys: JWK[]
  jwksDown: boolean
  close(): Promise<void>
}

export function listen(server: Server): Promise<number> {
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port))
  })
}

export function readAll(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    req.on('data', (chunk: Buffer) => chunks.push(chunk))
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')))
    req.on('error', reject)
  })
}

export function close(server: Server): Promise<void> {
  server.closeAllConnections()
  return new Promise((resolve) => server.close(() => resolve()))
}

export async function startStubAs(): Promise<StubAs> {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  const kid = `as-key-${randomUUID().slice(0, 8)}`
  const publicJwk = {
    ...(publicKey.export({ format: 'jwk' }) as JWK),
    kid,
    alg: 'ES256',
    use: 'sig',
  }
  const server = createServer()
  const port = await listen(server)
  const issuer = `http://127.0.0.1:${port}`
  const stub: StubAs = {
    issuer,
    kid,
    privateKey,
    publicJwk,
    jwksFetches: 0,
    metadataFetches: 0,
    tokenRequests: [],
    extraKeys: [],
    jwksDown: false,
    onToken: (_request, res) => {
      res.writeHead(400, { 'content-type': 'application/json' })
      res.end(JSON.stringify({ error: 'invalid_grant' }))
    },
    close: () => close(server),
  }
  server.on('request', (req, res) => {
    void (async () => {
      const body = await readAll(req)
      const recorded = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body }
      if (req.url === '/.well-known/oauth-authorization-server') {
        stub.metadataFetches++
        res.writeHead(200, { 'content-type': 'application/json' })
        res.end(
          JSON.stringify({ issuer, jwks_uri: `${issuer}/jwks`, token_endpoint: `${issuer}/token` }),
        )
      } else if (req.url === '/jwks') {
        stub.jwksFetches++
        if (stub.jwksDown) {
          res.writeHead(503).end()
          return
        }
        res.writeHead(200, { 'content-type': 'application/json' })
        res.end(JSON.stringify({ keys: [publicJwk, ...stub.extraKeys] }))
      } else if (req.url === '/token' && req.method === 'POST') {
        stub.tokenRequests.push(recorded)
        stub.onToken(recorded, res)
      } else {
        res.writeHead(404).end()
      }
    })()
  })
  return stub
}

export interface MintOptions {
  header?: Record<string, unknown>
  /** Claims merged over the defaults; `undefined` values delete a default. */
  claims?: Record<string, unknown>
  key?: KeyObject
}

export const nowSeconds = (): number => Math.floor(Date.now() / 1000)

/** An RFC 9068 access token signed with jose (ES256) by the stub AS. */
export async function mintToken(
  as: StubAs,
  audience: string,
  options: MintOptions = {},
): Promise<string> {
  const claims: Record<string, unknown> = {
    iss: as.issuer,
    sub: 'user-1',
    aud: audience,
    iat: nowSeconds(),
    exp: nowSeconds() + 300,
    jti: randomUUID(),
    client_id: 'client-1',
    scope: 'read',
    ...options.claims,
  }
  for (const [name, value] of Object.entries(claims)) if (value === undefined) delete claims[name]
  const header = { alg: 'ES256', typ: 'at+jwt', kid: as.kid, ...options.header }
  const key = options.key ?? as.privateKey
  const jwk = key.export({ format: 'jwk' })
  return new SignJWT(claims).setProtectedHeader(header).sign(await importJWK(jwk, 'ES256'))
}

/** A compact JWS built by hand (for `alg: none`, HS256 and other hostile inputs). */
export function rawJws(
  header: Record<string, unknown>,
  payload: Record<string, unknown>,
  signer: (input: Buffer) => Buffer,
): string {
  const input = `${Buffer.from(JSON.stringify(header)).toString('base64url')}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}`
  return `${input}.${signer(Buffer.from(input)).toString('base64url')}`
}

export function es256Signer(key: KeyObject): (input: Buffer) => Buffer {
  return (input) => sign('sha256', input, { key, dsaEncoding: 'ieee-p1363' })
}

/** An extractable ES256 DPoP key for hand-made proofs. */
export function rawDpopKey(): { privateKey: KeyObject; jwk: JWK } {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  const full = createPublicKey(privateKey).export({ format: 'jwk' }) as JWK
  return { privateKey, jwk: { kty: full.kty, crv: full.crv, x: full.x, y: full.y } as JWK }
}

export { createDpopProof, generateDpopKeyPair, type DpopKeyPair }

export interface CallOptions {
  token?: string
  scheme?: 'Bearer' | 'DPoP'
  dpop?: DpopKeyPair
  proof?: string | string[]
  headers?: Record<string, string>
  method?: string
  body?: unknown
}

type Any = any

export interface CallResult {
  status: number
  headers: Headers
  text: string
  json: unknown
  /** The first JSON-RPC message (from JSON or SSE). */
  message: Record<string, Any> | undefined
  challenges: { scheme: string; params: Record<string, string> }[]
}

let rpcId = 0

export function rpc(method: string, params: Record<string, unknown> = {}): Record<string, unknown> {
  rpcId += 1
  return { jsonrpc: '2.0', id: rpcId, method, params }
}

export function toolCall(
  name: string,
  args: Record<string, unknown> = {},
): Record<string, unknown> {
  return rpc('tools/call', { name, arguments: args })
}

/** POST (by default) a JSON-RPC message to the MCP endpoint over real HTTP. */
export async function callMcp(url: string, options: CallOptions = {}): Promise<CallResult> {
  const method = options.method ?? 'POST'
  const headers = new Headers({
    accept: 'application/json, text/event-stream',
    'content-type': 'application/json',
    'mcp-protocol-version': '2025-06-18',
  })
  for (const [name, value] of Object.entries(options.headers ?? {})) headers.set(name, value)
  if (options.token !== undefined) {
    const scheme = options.scheme ?? (options.dpop ? 'DPoP' : 'Bearer')
    headers.set('authorization', `${scheme} ${options.token}`)
  }
  if (options.proof !== undefined) {
    for (const proof of [options.proof].flat()) headers.append('dpop', proof)
  } else if (options.dpop && options.token !== undefined) {
    headers.set(
      'dpop',
      await createDpopProof(options.dpop, { htm: method, htu: url, accessToken: options.token }),
    )
  }
  const response = await fetch(url, {
    method,
    headers,
    ...(method === 'GET' || method === 'HEAD'
      ? {}
      : { body: JSON.stringify(options.body ?? toolCall('echo', { text: 'hi' })) }),
  })
  const text = await response.text()
  let json: unknown
  let message: Record<string, Any> | undefined
  if ((response.headers.get('content-type') ?? '').includes('text/event-stream')) {
    for (const line of text.split('\n')) {
      if (line.startsWith('data: ')) {
        message = JSON.parse(line.slice(6)) as Record<string, Any>
        break
      }
    }
    json = message
  } else {
    try {
      json = JSON.parse(text)
    } catch {
      json = undefined
    }
    message = json as Record<string, Any> | undefined
  }
  const header = response.headers.get('www-authenticate')
  return {
    status: response.status,
    headers: response.headers,
    text,
    json,
    message,
    challenges: header ? parseWwwAuthenticate(header) : [],
  }
}

/** A request with exact header lines (repeated headers stay separate lines). */
export function rawRequest(
  url: string,
  options: { method?: string; headers: [string, string][]; body?: string },
): Promise<{ status: number; headers: IncomingMessage['headers']; body: string }> {
  return new Promise((resolve, reject) => {
    const target = new URL(url)
    const req = request({
      host: '127.0.0.1',
      port: target.port,
      path: target.pathname,
      method: options.method ?? 'POST',
      setHost: false,
      agent: false,
    })
    const grouped = new Map<string, string[]>()
    for (const [name, value] of options.headers)
      grouped.set(name, [...(grouped.get(name) ?? []), value])
    for (const [name, values] of grouped)
      req.setHeader(name, values.length === 1 ? (values[0] as string) : values)
    req.on('response', (res) => {
      void readAll(res).then((body) =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body }),
      )
    })
    req.on('error', reject)
    req.end(options.body)
  })
}
