/**
 * Launcher entry: `node apps/enclave/src/main.ts` with the wire.md env vars. Listens until
 * SIGINT/SIGTERM, then closes (worker included) and exits 0.
 */
import { exitOnConfigError } from '@dauth/protocol/env'
import { pino } from 'pino'
import { type EnclaveConfig, enclaveConfigFromEnv } from './config.ts'
import { turnBatchedStdout } from './launcher/logDestination.ts'
import { startEnclave } from './launcher/start.ts'
import { LOG_REDACT } from '@dauth/protocol/log'

// A bad variable stops the process before anything starts: one stderr line per problem, exit 78.
let config: EnclaveConfig
try {
  config = enclaveConfigFromEnv()
} catch (error) {
  exitOnConfigError(error)
}

const logger = pino({ base: { component: 'enclave' }, redact: LOG_REDACT }, turnBatchedStdout())

try {
  const enclave = await startEnclave(config, { logger })
  let stopping = false
  const stop = (): void => {
    if (stopping) return
    stopping = true
    enclave.close().then(
      () => process.exit(0),
      () => process.exit(1),
    )
  }
  process.on('SIGINT', stop)
  process.on('SIGTERM', stop)
} catch (error) {
  logger.error({
    msg: 'enclave failed to start',
    error: error instanceof Error ? error.message : 'unknown',
  })
  process.exit(1)
}
