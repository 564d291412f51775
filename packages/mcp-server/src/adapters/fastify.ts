/**
 * The fastify adapter: mounts an {@link MCPServer}'s endpoint and its protected resource
 * metadata (RFC 9728, path-aware and root) in an existing fastify app, next to the app's own
 * routes. Requests go through exactly the code path of `serve()` and `handler()` (the
 * Web-standard core), so authorization, DNS-rebinding checks, CORS and body limits are the
 * same everywhere.
 *
 * Types only from fastify: it is the caller's dependency, not ours.
 *
 * @module
 */
import type { FastifyInstance, FastifyPluginAsync } from 'fastify'
import type { MCPServer } from '../server.ts'

/** Options of {@link mcpFastify}. */
export interface McpFastifyOptions {
  /** The server to mount; it needs its `resourceUrl` (its path is the route). */
  server: MCPServer
}

const METADATA_PATH = '/.well-known/oauth-protected-resource'
const METHODS = ['GET', 'POST', 'DELETE', 'OPTIONS'] as const

/**
 * A fastify plugin. Register it at the root (no `prefix`): the routes are the resource URL's
 * path and the RFC 9728 well-known paths, which are absolute by definition.
 *
 * @example
 * ```ts
 * import Fastify from 'fastify'
 * import { mcpFastify } from '@dauth/mcp-server/fastify'
 *
 * const app = Fastify()
 * await app.register(mcpFastify, { server }) // server: an MCPServer with a resourceUrl
 * await app.listen({ port: 4100 })
 * ```
 */
export const mcpFastify: FastifyPluginAsync<McpFastifyOptions> = (
  app: FastifyInstance,
  options: McpFastifyOptions,
) => {
  const { server } = options
  const handle = server.handler()
  const path = new URL(server.resourceUrl).pathname
  // The core reads the raw body itself (with its own size limit and error answers): keep
  // fastify's parsers off these routes. This plugin is encapsulated (not wrapped in
  // fastify-plugin), so the app's own parsers are untouched.
  app.removeAllContentTypeParsers()
  app.addContentTypeParser('*', (_request, _payload, done) => done(null))
  const routes = new Set([path, METADATA_PATH, `${METADATA_PATH}${path === '/' ? '' : path}`])
  for (const url of routes) {
    app.route({
      method: [...METHODS],
      url,
      handler: (request, reply) => {
        // The node adapter writes the response (streamed: SSE works); fastify steps aside.
        reply.hijack()
        handle(request.raw, reply.raw)
      },
    })
  }
  return Promise.resolve()
}
