/**
 * `@dauth/conformance-server`: the MCP conformance suite's server fixtures on
 * `@dauth/mcp-server`, authorization off, every other default as shipped.
 *
 * @module
 */
import { MCPServer } from '@dauth/mcp-server'
import { conformanceFixtures } from './fixtures.ts'

export { conformanceFixtures, TEST_AUDIO_BASE64, TEST_IMAGE_BASE64 } from './fixtures.ts'

/** Options of {@link startConformanceServer}. */
export interface ConformanceServerConfig {
  /** Port (default 4500; 0 = any free port). */
  port?: number
}

/** Build the fixture server (not listening; `serve()` makes its URL `http://localhost:<port>/mcp`). */
export function createConformanceServer(): MCPServer {
  const server = new MCPServer('dauth-conformance-server', {
    version: '1.0.0',
    // The suite sends no tokens.
    authorization: { enabled: false },
    sessions: { enabled: true, resumability: true },
    logging: true,
    resourceSubscriptions: true,
  })
  return server.collect(...conformanceFixtures(server))
}

/** Start the fixture server on `http://localhost:<port>/mcp` (loopback only). */
export async function startConformanceServer(
  config: ConformanceServerConfig = {},
): Promise<{ url: string; close(): Promise<void> }> {
  const running = await createConformanceServer().serve({ port: config.port ?? 4500 })
  return { url: running.url, close: () => running.close() }
}
