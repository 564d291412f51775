/**
 * Launcher entry: `node apps/enclave/src/main.ts` with the wire.md env vars. Listens until
 * SIGINT/SIGTERM, then closes (worker included) and exits 0.
 */
import { pino } from 'pino'
import { enclaveConfigFromEnv } from './config.ts'
import { startEnclave } from './launcher/start.ts'

const logger = pino({ base: { component: 'enclave' } })

try {
  const enclave = await startEnclave(enclaveConfigFromEnv(), { logger })
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
