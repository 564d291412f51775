import { rootCertificates } from 'node:tls'
import { Agent, buildConnector, request } from 'undici'
import { DispatchRefusal } from '../errors.ts'
import type { ResolvedAddress } from './hosts.ts'

/**
 * One HTTPS exchange with the upstream over a connection pinned to the address that was
 * checked (no second DNS lookup, so rebinding cannot move it), SNI and certificate check
 * against the host name, no redirects followed, time and size limits.
 */
export interface UpstreamCall {
  hostname: string
  port: number
  address: ResolvedAddress
  method: string
  pathAndQuery: string
  headers: [string, string][]
  body?: Uint8Array
  extraCa?: string
  timeoutMs: number
  maxResponseBytes: number
}

export interface UpstreamResponse {
  status: number
  headers: Record<string, string | string[] | undefined>
  body: Buffer
}

export async function callUpstream(call: UpstreamCall): Promise<UpstreamResponse> {
  const ca = call.extraCa ? [...rootCertificates, call.extraCa] : undefined
  const base = buildConnector({
    ...(ca ? { ca } : {}),
    rejectUnauthorized: true,
    timeout: call.timeoutMs,
    ALPNProtocols: ['http/1.1'],
  })
  const pinned = call.address.address
  const agent = new Agent({
    connect: (options, callback) => {
      base({ ...options, hostname: pinned, servername: call.hostname }, callback)
    },
    connections: 1,
    pipelining: 0,
    headersTimeout: call.timeoutMs,
    bodyTimeout: call.timeoutMs,
  })
  const controller = new AbortController()
  let timedOut = false
  const timer = setTimeout(() => {
    timedOut = true
    controller.abort()
  }, call.timeoutMs)
  const origin =
    call.port === 443 ? `https://${call.hostname}` : `https://${call.hostname}:${call.port}`
  try {
    let res: Awaited<ReturnType<typeof request>>
    try {
      res = await request(`${origin}${call.pathAndQuery}`, {
        method: call.method as 'GET',
        headers: call.headers.flat(),
        ...(call.body ? { body: Buffer.from(call.body) } : {}),
        dispatcher: agent,
        signal: controller.signal,
      })
    } catch (error) {
      throw mapError(error, timedOut)
    }
    const chunks: Buffer[] = []
    let size = 0
    try {
      for await (const chunk of res.body as AsyncIterable<Buffer>) {
        size += chunk.length
        if (size > call.maxResponseBytes) {
          for (const c of chunks) c.fill(0)
          res.body.destroy()
          throw new DispatchRefusal('response_too_large', 'response_body_limit')
        }
        chunks.push(chunk)
      }
    } catch (error) {
      if (error instanceof DispatchRefusal) throw error
      throw mapError(error, timedOut)
    }
    const body = Buffer.concat(chunks)
    for (const c of chunks) c.fill(0)
    return { status: res.statusCode, headers: res.headers, body }
  } finally {
    clearTimeout(timer)
    agent.destroy().catch(() => undefined)
  }
}

function mapError(error: unknown, timedOut: boolean): DispatchRefusal {
  const code = (error as { code?: unknown } | null)?.code
  if (
    timedOut ||
    code === 'UND_ERR_HEADERS_TIMEOUT' ||
    code === 'UND_ERR_BODY_TIMEOUT' ||
    code === 'UND_ERR_CONNECT_TIMEOUT'
  ) {
    return new DispatchRefusal('upstream_timeout', 'timeout')
  }
  return new DispatchRefusal(
    'upstream_unreachable',
    typeof code === 'string' ? code : 'connect_failed',
  )
}
