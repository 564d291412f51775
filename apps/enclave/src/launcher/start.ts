import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { pino } from 'pino'
import type { Logger } from 'pino'
import { resolveConfig } from '../config.ts'
import { LOG_REDACT } from '@dauth/protocol/log'
import type { EnclaveConfig } from '../config.ts'
import { ensureKeyring } from '../keys/keyring.ts'
import { createKeyWrapper } from '../keys/keyWrapper.ts'
import type { KeyWrapperConfig } from '../keys/keyWrapper.ts'
import { masterKeyWrapperConfig } from '../keys/masterKey.ts'
import { buildWorkerBundle } from './bundle.ts'
import { EnclaveMetrics } from './metrics.ts'
import { loadOrCreatePlatformKey } from './platform.ts'
import { createReplayStore } from './replayStore.ts'
import { WorkerRuntimeDir } from './runtimeDir.ts'
import { createEnclaveServer } from './server.ts'
import { WorkerSupervisor, lookupUser } from './supervisor.ts'
import type { WorkerCredentials } from './supervisor.ts'

export interface RunningEnclave {
  /** base URL the launcher listens on, e.g. `http://127.0.0.1:4200` */
  url: string
  /** SHA-384 (base64url) of the worker bundle that runs */
  measurement: string
  /** public platform JWK (what `<state>/attestation.json` pins) */
  platformJwk: JsonWebKey
  /** pid of the current worker process (undefined while it restarts) */
  workerPid(): number | undefined
  close(): Promise<void>
}

export interface StartOptions {
  logger?: Logger
  /** key wrapper of the box-key ring (default: AES-256-GCM under `<state>/enclave/master.key`) */
  keyWrapper?: KeyWrapperConfig
}

/**
 * Starts the launcher: platform key, master key, box-key ring, worker bundle + measurement,
 * `<state>/attestation.json`, the loopback HTTP server, then the worker process.
 *
 * @example
 * const enclave = await startEnclave({ stateDir: '.dauth', issuer: 'http://localhost:4000', port: 4200 })
 * // … enclave.url …
 * await enclave.close()
 */
export async function startEnclave(
  config: EnclaveConfig,
  options: StartOptions = {},
): Promise<RunningEnclave> {
  const cfg = resolveConfig(config)
  const logger = options.logger ?? pino({ base: { component: 'enclave' }, redact: LOG_REDACT })
  mkdirSync(cfg.enclaveDir, { recursive: true, mode: 0o700 })

  // Drop privileges for the worker when we are root (its runtime folder's keys become
  // readable by the worker's group only).
  let credentials: WorkerCredentials | undefined
  if (process.getuid?.() === 0)
    credentials = lookupUser(cfg.workerUser) ?? { uid: 65534, gid: 65534 }

  const platformKey = await loadOrCreatePlatformKey(cfg.enclaveDir)
  const keyWrapper = options.keyWrapper ?? masterKeyWrapperConfig(cfg.enclaveDir)
  const wrapper = createKeyWrapper(keyWrapper)
  await ensureKeyring(cfg.keyDir, wrapper)
  wrapper.destroy?.()

  if (!existsSync(cfg.clientKeyFile))
    throw new Error(`enclave AS client key file not found: ${cfg.clientKeyFile}`)
  const clientJwk = JSON.parse(readFileSync(cfg.clientKeyFile, 'utf8')) as JsonWebKey
  const extraCa = cfg.extraCaFile !== undefined ? readFileSync(cfg.extraCaFile, 'utf8') : undefined

  const runtime = new WorkerRuntimeDir(credentials?.gid)
  runtime.syncKeyring(cfg.keyDir)
  const bundle = await buildWorkerBundle(runtime.bundleFile, { testHooks: cfg.testHooks })
  writeFileSync(
    join(cfg.stateDir, 'attestation.json'),
    `${JSON.stringify({ platform_jwk: platformKey.publicJwk, measurements: [bundle.measurement] }, null, 2)}\n`,
    { mode: 0o644 },
  )

  const metrics = new EnclaveMetrics()
  const holder: { supervisor?: WorkerSupervisor } = {}
  const server = createEnclaveServer({
    get supervisor(): WorkerSupervisor {
      if (!holder.supervisor) throw new Error('not started')
      return holder.supervisor
    },
    platformKey,
    measurement: bundle.measurement,
    keyDir: cfg.keyDir,
    beforeDispatch: () => {
      runtime.syncKeyring(cfg.keyDir)
    },
    metrics,
    logger,
    maxRequestBytes: cfg.maxRequestBytes,
    testHooks: cfg.testHooks,
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(cfg.port, cfg.host, () => resolve())
  })
  const address = server.address() as AddressInfo
  const url = `http://${cfg.host.includes(':') ? `[${cfg.host}]` : cfg.host}:${address.port}`
  const enclaveUrl = cfg.enclaveUrl ?? url
  logger.info({
    msg: 'listening',
    url,
    enclave_url: enclaveUrl,
    measurement: bundle.measurement,
    platform_kid: platformKey.kid,
    replay_store: cfg.redisUrl !== undefined ? 'redis' : 'memory',
  })

  const replay = createReplayStore(
    {
      ...(cfg.redisUrl !== undefined ? { redisUrl: cfg.redisUrl } : {}),
      prefix: cfg.replayKeyPrefix,
    },
    logger,
  )
  const supervisor = new WorkerSupervisor({
    bundleFile: bundle.file,
    measurement: bundle.measurement,
    keyDir: runtime.keyDir,
    init: {
      issuer: cfg.issuer,
      enclaveUrl,
      keyDir: runtime.keyDir,
      keyWrapper,
      clientJwk,
      clientId: cfg.clientId,
      devUpstreams: cfg.devUpstreams,
      ...(extraCa !== undefined ? { extraCa } : {}),
      upstreamTimeoutMs: cfg.upstreamTimeoutMs,
      maxResponseBytes: cfg.maxResponseBytes,
      maxRequestBytes: cfg.maxRequestBytes,
    },
    ...(credentials ? { credentials } : {}),
    testHooks: cfg.testHooks,
    logger,
    metrics,
    replayStore: replay.store,
  })
  holder.supervisor = supervisor
  try {
    await supervisor.start()
  } catch (error) {
    await supervisor.close()
    await new Promise<void>((resolve) => server.close(() => resolve()))
    await replay.close()
    runtime.remove()
    throw error
  }

  let closed: Promise<void> | undefined
  return {
    url,
    measurement: bundle.measurement,
    platformJwk: platformKey.publicJwk,
    workerPid: () => supervisor.pid,
    close: () => {
      closed ??= (async () => {
        await new Promise<void>((resolve) => {
          server.close(() => resolve())
          server.closeAllConnections()
        })
        await supervisor.close()
        await replay.close()
        runtime.remove()
      })()
      return closed
    },
  }
}
