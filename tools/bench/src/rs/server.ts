/**
 * A resource server under test, run as its own process (forked by rs.bench.ts):
 *   dauth-auth   — @dauth/mcp-server MCPServer, authorization on (JWT ES256 + DPoP + scope `echo`)
 *   dauth-noauth — the same server, authorization disabled
 *   sdk-bearer   — official @modelcontextprotocol/sdk McpServer + StreamableHTTPServerTransport
 *                  (stateless) behind the SDK's requireBearerAuth with a jose ES256 verifier
 * Every variant exposes one no-I/O `echo` tool and answers JSON (enableJsonResponse).
 * Env: BENCH_RS_MODE, BENCH_RS_ISSUER (stand-in AS), BENCH_RS_RESOURCE (optional canonical URL:
 * a second instance behind the same "load balancer" reuses the first one's).
 * Sends `{ type: 'ready', url, port }` over IPC; exits on disconnect or SIGTERM.
 */
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { MCPServer, tool } from '@dauth/mcp-server'
import { requireBearerAuth } from '@modelcontextprotocol/sdk/server/auth/middleware/bearerAuth.js'
import type { AuthInfo } from '@modelcontextprotocol/sdk/server/auth/types.js'
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js'
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js'
import express from 'express'
import { createRemoteJWKSet, jwtVerify } from 'jose'
import { z } from 'zod'

export type ServerMode = 'dauth-auth' | 'dauth-noauth' | 'sdk-bearer'

const mode = process.env.BENCH_RS_MODE as ServerMode | undefined
const issuer = process.env.BENCH_RS_ISSUER ?? ''
const resource = process.env.BENCH_RS_RESOURCE

function echo({ text }: { text: string }): string {
  return text
}

async function startDauth(
  authorized: boolean,
): Promise<{ url: string; port: number; close(): Promise<void> }> {
  const server = new MCPServer('bench-dauth', {
    ...(resource ? { resourceUrl: resource } : {}),
    enableJsonResponse: true,
    authorization: authorized
      ? { authorizationServers: [issuer], dpopRequired: true }
      : { enabled: false },
  })
  server.collect(
    tool(
      {
        name: 'echo',
        description: 'Echo the text back',
        ...(authorized ? { requiredScopes: ['echo'] } : {}),
        inputSchema: { text: z.string() },
      },
      echo,
    ),
  )
  return server.serve({ port: 0, host: '127.0.0.1' })
}

async function startSdk(): Promise<{ url: string; port: number; close(): Promise<void> }> {
  const jwks = createRemoteJWKSet(new URL(`${issuer}/jwks`))
  let audience = resource ?? ''
  const verifier = {
    async verifyAccessToken(token: string): Promise<AuthInfo> {
      const { payload } = await jwtVerify(token, jwks, {
        issuer,
        audience,
        algorithms: ['ES256'],
        typ: 'at+jwt',
      })
      return {
        token,
        clientId: typeof payload.client_id === 'string' ? payload.client_id : 'unknown',
        scopes: typeof payload.scope === 'string' ? payload.scope.split(' ') : [],
        ...(payload.exp !== undefined ? { expiresAt: payload.exp } : {}),
        extra: { sub: payload.sub },
      }
    },
  }
  const app = express()
  app.use(express.json())
  app.post('/mcp', requireBearerAuth({ verifier, requiredScopes: ['echo'] }), async (req, res) => {
    // The SDK's stateless pattern: a fresh server + transport per request.
    const mcp = new McpServer({ name: 'bench-sdk', version: '0.1.0' })
    mcp.registerTool(
      'echo',
      { description: 'Echo the text back', inputSchema: { text: z.string() } },
      ({ text }) => ({ content: [{ type: 'text', text }] }),
    )
    // Stateless: `sessionIdGenerator` left undefined (omitted under exactOptionalPropertyTypes).
    const transport = new StreamableHTTPServerTransport({ enableJsonResponse: true })
    res.on('close', () => {
      void transport.close()
      void mcp.close()
    })
    await mcp.connect(transport)
    await transport.handleRequest(req, res, req.body)
  })
  const server: Server = createServer({ keepAliveTimeout: 65_000 }, app)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  const url = resource ?? `http://localhost:${port}/mcp`
  audience = url
  return {
    url,
    port,
    close: async () => {
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}

const running =
  mode === 'dauth-auth'
    ? await startDauth(true)
    : mode === 'dauth-noauth'
      ? await startDauth(false)
      : mode === 'sdk-bearer'
        ? await startSdk()
        : undefined
if (!running) throw new Error(`unknown BENCH_RS_MODE ${String(mode)}`)

let closing = false
async function shutdown(): Promise<void> {
  if (closing) return
  closing = true
  await running?.close()
  process.exit(0)
}
process.on('SIGTERM', () => void shutdown())
process.on('disconnect', () => void shutdown())
process.send?.({ type: 'ready', url: running.url, port: running.port })
