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
let server: Awaited<ReturnType<typeof startAuthorizationServer>>
try {
  server = await startAuthorizationServer(config)
} catch (error) {
  // One line an operator can act on instead of a stack trace (storage and migration errors
  // name what failed, never a connection string or a secret).
  process.stderr.write(
    `dauth-as: could not start: ${error instanceof Error ? error.message : String(error)}\n`,
  )
  process.exit(1)
}

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
