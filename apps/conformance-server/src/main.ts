/**
 * Process entry point: `node apps/conformance-server/src/main.ts`. Env: `DAUTH_CONFORMANCE_PORT`
 * (default 4500). Closes cleanly on SIGINT/SIGTERM.
 *
 * @module
 */
import { startConformanceServer } from './index.ts'

const server = await startConformanceServer({
  port: Number(process.env.DAUTH_CONFORMANCE_PORT ?? 4500),
})
process.stdout.write(`${JSON.stringify({ msg: 'listening', url: server.url })}\n`)

let closing = false
async function shutdown(): Promise<void> {
  if (closing) return
  closing = true
  await server.close()
  process.exit(0)
}
process.once('SIGINT', () => void shutdown())
process.once('SIGTERM', () => void shutdown())
