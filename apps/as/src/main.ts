import { exitOnConfigError } from '@dauth/protocol/env'
import { type AuthorizationServerConfig, configFromEnv } from './config.ts'
import { startAuthorizationServer } from './server.ts'

// A bad variable stops the process before anything starts: one stderr line per problem, exit 78.
let config: AuthorizationServerConfig
try {
  config = configFromEnv(process.env)
} catch (error) {
  exitOnConfigError(error)
}
const server = await startAuthorizationServer(config)

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
