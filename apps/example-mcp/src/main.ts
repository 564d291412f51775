/**
 * Process entry point: `node apps/example-mcp/src/main.ts`. Env (wire.md): DAUTH_ISSUER,
 * DAUTH_MCP_URL, DAUTH_MCP_PORT, DAUTH_ENCLAVE_URL, DAUTH_MCP_CLIENT_FILE, DAUTH_STATE_DIR,
 * REDIS_URL. Logs pino JSON lines; closes cleanly on SIGINT/SIGTERM.
 *
 * @module
 */
import { join, resolve } from 'node:path'
import { pino } from 'pino'
import { readClientFile, startExampleMcp } from './index.ts'

const log = pino({ base: { service: 'example-mcp' } })
const env = process.env
const stateDir = env.DAUTH_STATE_DIR ?? resolve(import.meta.dirname, '../../../.dauth')
const resourceUrl = env.DAUTH_MCP_URL ?? 'http://localhost:4100/mcp'
const port = Number(env.DAUTH_MCP_PORT ?? (new URL(resourceUrl).port || 4100))
const clientFile = env.DAUTH_MCP_CLIENT_FILE ?? join(stateDir, 'clients', 'example-mcp.json')
const client = readClientFile(clientFile)

const mcp = await startExampleMcp({
  issuer: env.DAUTH_ISSUER ?? 'http://localhost:4000',
  resourceUrl,
  port,
  enclaveUrl: env.DAUTH_ENCLAVE_URL ?? 'http://127.0.0.1:4200',
  ...(client ? { client } : {}),
  ...(env.REDIS_URL ? { redisUrl: env.REDIS_URL } : {}),
  onAuthFailure: (failure) => {
    // A request without a token is the normal start of discovery: not worth a line.
    if (failure.reason !== 'missing_token') log.info({ failure }, 'authorization refused')
  },
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
