import { randomBytes } from 'node:crypto'
import pg from 'pg'
import { Redis } from 'ioredis'

const ADMIN_URL = 'postgres://postgres@127.0.0.1:5432/postgres'
export const REDIS_URL = 'redis://127.0.0.1:6379'

export async function postgresAvailable(): Promise<boolean> {
  const client = new pg.Client({ connectionString: ADMIN_URL, connectionTimeoutMillis: 2000 })
  try {
    await client.connect()
    await client.end()
    return true
  } catch {
    return false
  }
}

/** Creates a throw-away database; returns its URL and a dropper. */
export async function createDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `dauth_as_test_${randomBytes(6).toString('hex')}`
  const admin = new pg.Client({ connectionString: ADMIN_URL })
  await admin.connect()
  await admin.query(`CREATE DATABASE ${name}`)
  await admin.end()
  return {
    url: `postgres://postgres@127.0.0.1:5432/${name}`,
    drop: async () => {
      const c = new pg.Client({ connectionString: ADMIN_URL })
      await c.connect()
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
      await c.end()
    },
  }
}

export async function redisAvailable(): Promise<boolean> {
  const probe = new Redis(REDIS_URL, {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  })
  const up = await probe.connect().then(
    () => true,
    () => false,
  )
  probe.disconnect()
  return up
}

/**
 * A Redis client and a key prefix of this test's own (random); drop() deletes every key
 * under the prefix and disconnects.
 */
export function redisNamespace(): { redis: Redis; prefix: string; drop(): Promise<void> } {
  const redis = new Redis(REDIS_URL)
  const prefix = `dauth:test:${randomBytes(6).toString('hex')}:`
  return {
    redis,
    prefix,
    drop: async () => {
      let cursor = '0'
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500)
        if (keys.length > 0) await redis.del(...keys)
        cursor = next
      } while (cursor !== '0')
      redis.disconnect()
    },
  }
}
