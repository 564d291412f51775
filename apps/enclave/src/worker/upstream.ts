import { createSecureContext, rootCertificates } from 'node:tls'
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

/**
 * Keep-alive connection pools to upstreams, one undici `Agent` per (host name, port, checked
 * address): a connection is only ever reused for the exact address that passed the host
 * policy, so a later DNS answer cannot move it (a new address gets a new agent). The TLS
 * context (default roots + the optional extra CA) is built once. Least recently used agents
 * beyond `maxAgents` are closed; idle sockets close after `keepAliveMs`.
 */
export class UpstreamPool {
  readonly #connect: buildConnector.connector
  readonly #agents = new Map<string, Agent>()
  readonly #timeoutMs: number
  readonly #maxAgents: number
  readonly #keepAliveMs: number

  constructor(options: {
    extraCa?: string
    timeoutMs: number
    maxAgents?: number
    keepAliveMs?: number
  }) {
    this.#timeoutMs = options.timeoutMs
    this.#maxAgents = options.maxAgents ?? 64
    this.#keepAliveMs = options.keepAliveMs ?? 10_000
    const secureContext = options.extraCa
      ? createSecureContext({ ca: [...rootCertificates, options.extraCa] })
      : undefined
    this.#connect = buildConnector({
      ...(secureContext ? { secureContext } : {}),
      rejectUnauthorized: true,
      timeout: options.timeoutMs,
      ALPNProtocols: ['http/1.1'],
    })
  }

  agentFor(hostname: string, port: number, address: string): Agent {
    const key = `${hostname}\n${port}\n${address}`
    const existing = this.#agents.get(key)
    if (existing) {
      this.#agents.delete(key)
      this.#agents.set(key, existing)
      return existing
    }
    const agent = new Agent({
      connect: (options, callback) => {
        this.#connect({ ...options, hostname: address, servername: hostname }, callback)
      },
      connections: 32,
      pipelining: 1,
      keepAliveTimeout: this.#keepAliveMs,
      keepAliveMaxTimeout: this.#keepAliveMs,
      headersTimeout: this.#timeoutMs,
      bodyTimeout: this.#timeoutMs,
    })
    this.#agents.set(key, agent)
    if (this.#agents.size > this.#maxAgents) {
      const [oldestKey, oldest] = this.#agents.entries().next().value ?? []
      if (oldestKey !== undefined && oldest) {
        this.#agents.delete(oldestKey)
        oldest.close().catch(() => undefined)
      }
    }
    return agent
  }

  get size(): number {
    return this.#agents.size
  }

  async close(): Promise<void> {
    const agents = [...this.#agents.values()]
    this.#agents.clear()
    await Promise.all(agents.map((a) => a.destroy().catch(() => undefined)))
  }
}

/** One exchange; without a pool, a one-off pool is made and closed (tests). */
export async function callUpstream(
  call: UpstreamCall,
  pool?: UpstreamPool,
): Promise<UpstreamResponse> {
  const own =
    pool ??
    new UpstreamPool({
      ...(call.extraCa !== undefined ? { extraCa: call.extraCa } : {}),
      timeoutMs: call.timeoutMs,
    })
  const agent = own.agentFor(call.hostname, call.port, call.address.address)
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
    if (!pool) await own.close()
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
