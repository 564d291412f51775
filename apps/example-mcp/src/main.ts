/**
 * Process entry point: `node apps/example-mcp/src/main.ts`. Env (wire.md): DAUTH_ISSUER,
 * DAUTH_MCP_URL, DAUTH_MCP_PORT, DAUTH_ENCLAVE_URL, DAUTH_MCP_CLIENT_FILE, DAUTH_STATE_DIR,
 * REDIS_URL, DAUTH_MCP_METRICS_TOKEN. Logs pino JSON lines; closes cleanly on SIGINT/SIGTERM.
 *
 * @module
 */
import { exitOnConfigError } from '@dauth/protocol/env'
import { pino } from 'pino'
import { type ExampleMcpEnv, exampleMcpConfigFromEnv } from './env.ts'
import { readClientFile, startExampleMcp } from './index.ts'
import { LOG_REDACT } from '@dauth/protocol/log'

// A bad variable stops the process before anything starts: one stderr line per problem, exit 78.
let config: ExampleMcpEnv
try {
  config = exampleMcpConfigFromEnv(process.env)
} catch (error) {
  exitOnConfigError(error)
}
const log = pino({ base: { service: 'example-mcp' }, redact: LOG_REDACT })
const { clientFile } = config
const client = readClientFile(clientFile)

const mcp = await startExampleMcp({
  issuer: config.issuer,
  resourceUrl: config.resourceUrl,
  port: config.port,
  enclaveUrl: config.enclaveUrl,
  ...(client ? { client } : {}),
  ...(config.redisUrl !== undefined ? { redisUrl: config.redisUrl } : {}),
  redisPrefix: config.redisPrefix,
  ...(config.metricsToken !== undefined ? { metricsToken: config.metricsToken } : {}),
  log,
})
log.info({ url: mcp.url }, 'listening')
if (!client) log.warn({ clientFile }, 'client file missing: dispatch (whoami, api_request) is off')

let closing = false
async function shutdown(signal: string): Promise<void> {
  if (closing) return
  closing = true
  log.info({ signal }, 'closing')
  await mcp.close()
  process.exit(0)
}
process.once('SIGINT', () => void shutdown('SIGINT'))
process.once('SIGTERM', () => void shutdown('SIGTERM'))
