import { configFromEnv } from './config.ts'
import { startAuthorizationServer } from './server.ts'

const server = await startAuthorizationServer(configFromEnv(process.env))

let closing = false
const shutdown = (): void => {
  if (closing) return
  closing = true
  server.close().then(
    () => process.exit(0),
    () => process.exit(1),
  )
}
process.on('SIGINT', shutdown)
process.on('SIGTERM', shutdown)
