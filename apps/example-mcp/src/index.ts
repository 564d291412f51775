/**
 * The example protected MCP server (ARCHITECTURE.md §6).
 *
 * @module
 */
import { readFileSync } from 'node:fs'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import {
  type AuthFailure,
  currentRequestId,
  MCPServer,
  type MCPServerObserver,
} from '@dauth/mcp-server'
import { PrometheusObserver } from '@dauth/mcp-server/prometheus'
import { METRICS_REFUSAL, metricsGuard } from '@dauth/protocol'
import type { Logger } from 'pino'
import { apiRequest, echo, whoami } from './tools.ts'

/** Configuration of {@link startExampleMcp}. */
export interface ExampleMcpConfig {
  /** AS issuer (`DAUTH_ISSUER`). */
  issuer: string
  /** Canonical resource URL (`DAUTH_MCP_URL`); default `http://localhost:<port>/mcp`. */
  resourceUrl?: string
  /** Listening port (`DAUTH_MCP_PORT`; 0 = any). */
  port: number
  /** Interface to listen on (default: loopback for a loopback resource URL). */
  host?: string
  /** Enclave base URL (`DAUTH_ENCLAVE_URL`). */
  enclaveUrl: string
  /** This server's confidential client (from `DAUTH_MCP_CLIENT_FILE`); dispatch is off without it. */
  client?: { client_id: string; client_secret: string }
  /** Redis for the DPoP replay store (`REDIS_URL`). */
  redisUrl?: string
  /** Key prefix in that Redis (`DAUTH_MCP_REDIS_PREFIX`, default `dauth:example-mcp:dpop:`). */
  redisPrefix?: string
  /** Refuse plain Bearer tokens (default `true`). */
  dpopRequired?: boolean
  /** Receives each refused request's tagged failure (for logs; never a token). */
  onAuthFailure?: (failure: AuthFailure) => void
  /** Bearer token `GET /metrics` requires (`DAUTH_MCP_METRICS_TOKEN`); open when unset. */
  metricsToken?: string
  /**
   * One line per answered request (request id, method, status, outcome, duration), per
   * refused authorization (its tagged failure, never a token) and per failed dispatch.
   */
  log?: Logger
}

/** A running example server. */
export interface ExampleMcp {
  url: string
  server: MCPServer
  /** The Prometheus metrics served on `GET /metrics`. */
  metrics: PrometheusObserver
  close(): Promise<void>
}

/**
 * Build the example server. Server level: any valid token for this resource; each tool
 * carries its own scope (`read` for echo/whoami, `api:call` for api_request).
 */
export function createExampleMcp(
  config: ExampleMcpConfig,
  observer?: MCPServerObserver,
): MCPServer {
  const server = new MCPServer('dauth-example-mcp', {
    ...(observer ? { observer } : {}),
    ...(config.resourceUrl !== undefined ? { resourceUrl: config.resourceUrl } : {}),
    authorization: {
      authorizationServers: [config.issuer],
      dpopRequired: config.dpopRequired ?? true,
      ...(config.onAuthFailure ? { onFailure: config.onAuthFailure } : {}),
      ...(config.redisUrl
        ? {
            redisUrl: config.redisUrl,
            redisPrefix: config.redisPrefix ?? 'dauth:example-mcp:dpop:',
          }
        : {}),
    },
    ...(config.client
      ? {
          dispatch: {
            enclaveUrl: config.enclaveUrl,
            clientId: config.client.client_id,
            clientSecret: config.client.client_secret,
          },
        }
      : {}),
  })
  server.collect(echo, whoami, apiRequest)
  return server
}

/**
 * Start the example server.
 *
 * @example
 * ```ts
 * const mcp = await startExampleMcp({ issuer: 'http://localhost:4000', port: 0, enclaveUrl: 'http://127.0.0.1:4200' })
 * ```
 */
export async function startExampleMcp(config: ExampleMcpConfig): Promise<ExampleMcp> {
  const metrics = new PrometheusObserver()
  const log = config.log
  const observer: MCPServerObserver = {
    request: (event) => {
      metrics.request(event)
      log?.info(
        {
          reqId: event.requestId,
          method: event.method,
          status: event.status,
          outcome: event.outcome,
          ms: Math.round(event.durationSeconds * 1000),
        },
        'request',
      )
    },
    authFailure: (event) => metrics.authFailure(event),
    toolCall: (event) => metrics.toolCall(event),
    dispatch: (event) => {
      metrics.dispatch(event)
      if (event.failure !== undefined) {
        log?.warn({ reqId: event.requestId, code: event.failure }, 'dispatch failed')
      }
    },
  }
  // Our own node server in front of the SDK's handler: it adds `GET /metrics`, so the port is
  // bound first and the default resource URL follows from it (as `serve()` would do).
  const loopback =
    config.resourceUrl === undefined ||
    ['localhost', '127.0.0.1', '[::1]'].includes(new URL(config.resourceUrl).hostname)
  const host = config.host ?? (loopback ? '127.0.0.1' : undefined)
  // Set once the MCP server exists (it needs the bound port); nothing is accepted before.
  const target: { handle?: (req: IncomingMessage, res: ServerResponse) => void } = {}
  const metricsAllowed = metricsGuard(config.metricsToken)
  const http = createServer({ keepAliveTimeout: 65_000 }, (req, res) => {
    if (req.url === '/metrics' && (req.method === 'GET' || req.method === 'HEAD')) {
      void serveMetrics(req, res, metrics, metricsAllowed)
      return
    }
    if (target.handle) target.handle(req, res)
    else res.writeHead(503).end()
  })
  await new Promise<void>((resolve, reject) => {
    http.once('error', reject)
    http.listen(config.port, host, () => {
      http.off('error', reject)
      resolve()
    })
  })
  const { port } = http.address() as AddressInfo
  const onAuthFailure = (failure: AuthFailure): void => {
    config.onAuthFailure?.(failure)
    // A request without a token is the normal start of discovery: not worth a line.
    if (failure.reason !== 'missing_token') {
      log?.info({ reqId: currentRequestId(), failure }, 'authorization refused')
    }
  }
  const server = createExampleMcp(
    {
      ...config,
      resourceUrl: config.resourceUrl ?? `http://localhost:${port}/mcp`,
      onAuthFailure,
    },
    observer,
  )
  target.handle = server.handler()
  return {
    url: server.resourceUrl,
    server,
    metrics,
    close: async () => {
      http.closeAllConnections()
      await new Promise<void>((resolve) => http.close(() => resolve()))
      await server.close()
    },
  }
}

/** Prometheus text format; Bearer-protected when a metrics token is set. */
async function serveMetrics(
  req: IncomingMessage,
  res: ServerResponse,
  metrics: PrometheusObserver,
  allowed: (authorization: string | undefined) => boolean,
): Promise<void> {
  if (!allowed(req.headers.authorization)) {
    res.writeHead(METRICS_REFUSAL.status, {
      'content-type': 'application/json',
      ...METRICS_REFUSAL.headers,
    })
    res.end(JSON.stringify(METRICS_REFUSAL.body))
    return
  }
  const { contentType, body } = await metrics.render()
  res.writeHead(200, { 'content-type': contentType, 'cache-control': 'no-store' })
  res.end(req.method === 'HEAD' ? undefined : body)
}

/** Read `{"client_id","client_secret"}` (wire.md state folder); `undefined` when absent. */
export function readClientFile(
  path: string,
): { client_id: string; client_secret: string } | undefined {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch {
    return undefined
  }
  const value = JSON.parse(text) as { client_id?: unknown; client_secret?: unknown }
  if (typeof value.client_id !== 'string' || typeof value.client_secret !== 'string') {
    throw new Error(`${path}: expected {"client_id","client_secret"}`)
  }
  return { client_id: value.client_id, client_secret: value.client_secret }
}
export { exampleMcpConfigFromEnv, exampleMcpEnvSchema } from './env.ts'
export { LOG_REDACT, SENSITIVE_LOG_FIELDS } from '@dauth/protocol/log'
export type { ExampleMcpEnv } from './env.ts'
