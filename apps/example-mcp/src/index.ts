/**
 * The example protected MCP server (ARCHITECTURE.md §6).
 *
 * @module
 */
import { readFileSync } from 'node:fs'
import { type AuthFailure, MCPServer } from '@dauth/mcp-server'
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
  /** Refuse plain Bearer tokens (default `true`). */
  dpopRequired?: boolean
  /** Receives each refused request's tagged failure (for logs; never a token). */
  onAuthFailure?: (failure: AuthFailure) => void
}

/** A running example server. */
export interface ExampleMcp {
  url: string
  server: MCPServer
  close(): Promise<void>
}

/**
 * Build the example server. Server level: any valid token for this resource; each tool
 * carries its own scope (`read` for echo/whoami, `api:call` for api_request).
 */
export function createExampleMcp(config: ExampleMcpConfig): MCPServer {
  const server = new MCPServer('dauth-example-mcp', {
    ...(config.resourceUrl !== undefined ? { resourceUrl: config.resourceUrl } : {}),
    authorization: {
      authorizationServers: [config.issuer],
      dpopRequired: config.dpopRequired ?? true,
      ...(config.onAuthFailure ? { onFailure: config.onAuthFailure } : {}),
      ...(config.redisUrl
        ? { redisUrl: config.redisUrl, redisPrefix: 'dauth:example-mcp:dpop:' }
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
  const server = createExampleMcp(config)
  const running = await server.serve({
    port: config.port,
    ...(config.host !== undefined ? { host: config.host } : {}),
  })
  return { url: running.url, server, close: () => running.close() }
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
export type { ExampleMcpEnv } from './env.ts'
