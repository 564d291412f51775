/**
 * Load generator process (forked by rs.bench.ts), so that the client's CPU is not the server's
 * event loop. Protocol over IPC:
 *   → { type: 'prepare', spec: LoadSpec }   builds every request up front (DPoP proofs are
 *                                           single-use: one fresh proof per request)
 *   ← { type: 'prepared', ms }
 *   → { type: 'run' }                       `connections` keep-alive sockets, each sending its
 *                                           next request as soon as the previous answer ends
 *   ← { type: 'result', result: LoadResult }
 * Requests go to ports[i % ports.length] by connection (splitting load between instances).
 * Two request shapes: an MCP `tools/call` of `echo` (the resource-server benches) and, with
 * `tokenRequest`, a form POST to an OAuth token endpoint (the AS token-exchange bench).
 */
import { Agent, request } from 'node:http'
import { performance } from 'node:perf_hooks'
import { createDpopProof, type DpopKeyPair, calculateJwkThumbprint } from '@dauth/protocol'
import { percentileSorted } from '../stats.ts'

export interface LoadSpec {
  /** `dpop`: `Authorization: DPoP` + a fresh proof per request; `bearer`; `none`. */
  auth: 'dpop' | 'bearer' | 'none'
  ports: number[]
  /** Host header and path of every request, and the DPoP `htu` (the resource or token endpoint URL). */
  resourceUrl: string
  /**
   * A token-endpoint request instead of an MCP call: `form` is the
   * `application/x-www-form-urlencoded` body, `authorization` the client authentication
   * header; with `auth: 'dpop'` each request carries a fresh proof without `ath` (RFC 9449 §4).
   * A 200 answer with an `access_token` counts as success.
   */
  tokenRequest?: { form: string; authorization: string }
  tokens: string[]
  /** Private ES256 JWK of the DPoP key (imported non-extractable here). */
  dpopPrivateJwk?: JsonWebKey
  connections: number
  count: number
}

export interface LoadResult {
  count: number
  errors: number
  firstError?: string
  seconds: number
  rps: number
  p50_ms: number
  p99_ms: number
  mean_ms: number
}

interface Prepared {
  spec: LoadSpec
  requests: Record<string, string>[]
  body: string
  path: string
}

const BODY = JSON.stringify({
  jsonrpc: '2.0',
  id: 1,
  method: 'tools/call',
  params: { name: 'echo', arguments: { text: 'hello' } },
})

async function importDpopKey(jwk: JsonWebKey): Promise<DpopKeyPair> {
  const privateKey = await crypto.subtle.importKey(
    'jwk',
    jwk,
    { name: 'ECDSA', namedCurve: 'P-256' },
    false,
    ['sign'],
  )
  const publicJwk: JsonWebKey = { kty: 'EC', crv: 'P-256', x: jwk.x ?? '', y: jwk.y ?? '' }
  return { privateKey, publicJwk, jkt: await calculateJwkThumbprint(publicJwk), alg: 'ES256' }
}

async function prepare(spec: LoadSpec): Promise<Prepared> {
  const url = new URL(spec.resourceUrl)
  const key =
    spec.auth === 'dpop' && spec.dpopPrivateJwk
      ? await importDpopKey(spec.dpopPrivateJwk)
      : undefined
  const requests: Record<string, string>[] = []
  if (spec.tokenRequest) {
    const { form, authorization } = spec.tokenRequest
    const base: Record<string, string> = {
      host: url.host,
      'content-type': 'application/x-www-form-urlencoded',
      accept: 'application/json',
      'content-length': String(Buffer.byteLength(form)),
      authorization,
    }
    for (let i = 0; i < spec.count; i++) {
      requests.push(
        key
          ? { ...base, dpop: await createDpopProof(key, { htm: 'POST', htu: spec.resourceUrl }) }
          : base,
      )
    }
    return { spec, requests, body: form, path: url.pathname }
  }
  const base: Record<string, string> = {
    host: url.host,
    'content-type': 'application/json',
    accept: 'application/json, text/event-stream',
    'mcp-protocol-version': '2025-06-18',
    'content-length': String(Buffer.byteLength(BODY)),
  }
  for (let i = 0; i < spec.count; i++) {
    const token = spec.tokens[i % Math.max(1, spec.tokens.length)] ?? ''
    if (spec.auth === 'dpop' && key) {
      const proof = await createDpopProof(key, {
        htm: 'POST',
        htu: spec.resourceUrl,
        accessToken: token,
      })
      requests.push({ ...base, authorization: `DPoP ${token}`, dpop: proof })
    } else if (spec.auth === 'bearer') {
      requests.push({ ...base, authorization: `Bearer ${token}` })
    } else {
      requests.push(base)
    }
  }
  return { spec, requests, body: BODY, path: url.pathname }
}

function send(
  agent: Agent,
  port: number,
  path: string,
  headers: Record<string, string>,
  body: string,
): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, path, method: 'POST', headers, agent },
      (res) => {
        const chunks: Buffer[] = []
        res.on('data', (chunk: Buffer) => chunks.push(chunk))
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }),
        )
        res.on('error', reject)
      },
    )
    req.on('error', reject)
    req.end(body)
  })
}

function succeeded(spec: LoadSpec, status: number, text: string): boolean {
  if (status !== 200) return false
  if (spec.tokenRequest) return text.includes('"access_token"')
  return text.includes('"result"') && !text.includes('"isError":true')
}

async function run(prepared: Prepared): Promise<LoadResult> {
  const { spec, requests, body, path } = prepared
  const latencies = new Float64Array(requests.length)
  let next = 0
  let errors = 0
  let firstError: string | undefined
  const worker = async (w: number): Promise<void> => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 })
    const port = spec.ports[w % spec.ports.length] as number
    for (;;) {
      const i = next++
      if (i >= requests.length) break
      const start = performance.now()
      try {
        const { status, text } = await send(
          agent,
          port,
          path,
          requests[i] as Record<string, string>,
          body,
        )
        if (!succeeded(spec, status, text)) {
          errors++
          // A token answer is never logged: only failures, whose bodies carry no token.
          firstError ??= `HTTP ${status}: ${status === 200 && spec.tokenRequest ? '(no access_token)' : text.slice(0, 200)}`
        }
      } catch (error) {
        errors++
        firstError ??= String(error)
      }
      latencies[i] = performance.now() - start
    }
    agent.destroy()
  }
  const start = performance.now()
  await Promise.all(Array.from({ length: spec.connections }, (_, w) => worker(w)))
  const seconds = (performance.now() - start) / 1000
  latencies.sort()
  let sum = 0
  for (const l of latencies) sum += l
  return {
    count: requests.length,
    errors,
    ...(firstError !== undefined ? { firstError } : {}),
    seconds,
    rps: requests.length / seconds,
    p50_ms: percentileSorted(latencies, 50),
    p99_ms: percentileSorted(latencies, 99),
    mean_ms: sum / latencies.length,
  }
}

let current: Prepared | undefined
process.on('message', (message: { type: string; spec?: LoadSpec }) => {
  void (async () => {
    try {
      if (message.type === 'prepare' && message.spec) {
        const start = performance.now()
        current = await prepare(message.spec)
        process.send?.({ type: 'prepared', ms: performance.now() - start })
      } else if (message.type === 'run' && current) {
        const result = await run(current)
        current = undefined
        process.send?.({ type: 'result', result })
      } else if (message.type === 'exit') {
        process.disconnect()
      }
    } catch (error) {
      process.send?.({ type: 'error', message: String(error) })
    }
  })()
})
process.on('disconnect', () => process.exit(0))
