import { Redis } from 'ioredis'
import type { Logger } from 'pino'
import { MemoryReplayStore, RedisReplayStore } from '@dauth/protocol'
import type { ReplayStore } from '@dauth/protocol'

/**
 * The DPoP `jti` replay store of the launcher (the worker asks it over IPC). With
 * `REDIS_URL` it is Redis, shared by every enclave instance: a proof accepted by one
 * instance is refused by all others (`SET <prefix><jkt>:<jti> 1 EX <ttl> NX`). Redis that
 * cannot answer within about a second rejects the check, and the dispatch fails closed
 * with `503 temporarily_unavailable` before any upstream connection. Without `REDIS_URL`
 * the store is this launcher's memory (it survives worker restarts, not launcher restarts).
 */
export interface LauncherReplayStore {
  kind: 'memory' | 'redis'
  store: ReplayStore
  close(): Promise<void>
}

export function createReplayStore(
  options: { redisUrl?: string; prefix: string },
  logger: Logger,
): LauncherReplayStore {
  if (options.redisUrl === undefined) {
    return { kind: 'memory', store: new MemoryReplayStore(), close: () => Promise.resolve() }
  }
  const client = new Redis(options.redisUrl, {
    // Queue while (re)connecting, but give up after one retry instead of holding the
    // request: an unreachable Redis must turn into a fast 503, never an accepted proof.
    enableOfflineQueue: true,
    maxRetriesPerRequest: 1,
    connectTimeout: 1_000,
    commandTimeout: 1_000,
    retryStrategy: (times) => Math.min(times * 200, 2_000),
    connectionName: 'dauth-enclave',
  })
  let healthy: boolean | undefined
  // The URL may carry a password: only the error code is ever logged.
  client.on('error', (error: unknown) => {
    if (healthy === false) return
    healthy = false
    logger.warn({
      msg: 'replay store (redis) unreachable',
      error: (error as { code?: unknown } | null)?.code ?? 'unknown',
    })
  })
  client.on('ready', () => {
    if (healthy !== true) logger.info({ msg: 'replay store (redis) ready' })
    healthy = true
  })
  return {
    kind: 'redis',
    store: new RedisReplayStore(client, { prefix: options.prefix }),
    close: () => {
      client.disconnect()
      return Promise.resolve()
    },
  }
}
