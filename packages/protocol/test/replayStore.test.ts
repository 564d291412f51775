import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { after, describe, it } from 'node:test'
import { Redis } from 'ioredis'
import { MemoryReplayStore, RedisReplayStore, ReplayStoreError } from '../src/index.ts'

const isFull = (error: unknown) =>
  error instanceof ReplayStoreError && error.code === 'ERR_REPLAY_STORE_FULL'
const isUnavailable = (error: unknown) =>
  error instanceof ReplayStoreError && error.code === 'ERR_REPLAY_STORE_UNAVAILABLE'

describe('MemoryReplayStore', () => {
  it('accepts a key once until it expires, then again', async () => {
    let now = 1000
    const store = new MemoryReplayStore({ now: () => now })
    assert.equal(await store.checkAndStore('a', 1010), true)
    assert.equal(await store.checkAndStore('a', 1010), false)
    now = 1009.9
    assert.equal(await store.checkAndStore('a', 1020), false)
    now = 1010
    assert.equal(await store.checkAndStore('a', 1020), true)
  })

  it('never evicts an unexpired entry: full means fail closed (ReplayStoreError)', async () => {
    const now = 1000
    const store = new MemoryReplayStore({ maxEntries: 3, now: () => now })
    for (const k of ['a', 'b', 'c']) assert.equal(await store.checkAndStore(k, 2000), true)
    await assert.rejects(store.checkAndStore('d', 2000), isFull)
    await assert.rejects(store.checkAndStore('e', 2000), isFull)
    // the old entries are still there: a flood did not make them valid again
    assert.equal(await store.checkAndStore('a', 2000), false)
    assert.equal(await store.checkAndStore('b', 2000), false)
    assert.equal(store.size, 3)
  })

  it('sweeps expired entries to make room', async () => {
    let now = 1000
    const store = new MemoryReplayStore({ maxEntries: 3, now: () => now })
    await store.checkAndStore('late', 5000)
    await store.checkAndStore('x', 1100)
    await store.checkAndStore('y', 1100)
    now = 1200
    assert.equal(await store.checkAndStore('z', 1300), true)
    assert.equal(await store.checkAndStore('late', 5000), false)
    assert.equal(store.size, 2)
  })

  it('sweeps expired entries that are not at the head (full sweep)', async () => {
    let now = 1000
    const store = new MemoryReplayStore({ maxEntries: 3, now: () => now })
    await store.checkAndStore('late', 5000)
    await store.checkAndStore('x', 1100)
    await store.checkAndStore('y', 1100)
    await assert.rejects(store.checkAndStore('w', 1100), isFull)
    now = 1101
    assert.equal(await store.checkAndStore('w', 1300), true)
    assert.equal(await store.checkAndStore('late', 5000), false)
  })

  it('refuses a nonsensical capacity', () => {
    assert.throws(() => new MemoryReplayStore({ maxEntries: 0 }), RangeError)
  })
})

describe('RedisReplayStore against the local Redis', () => {
  const redis = new Redis({
    host: '127.0.0.1',
    port: 6379,
    lazyConnect: true,
    maxRetriesPerRequest: 1,
  })
  const prefix = `dauth-test:protocol:${randomUUID()}:`
  after(async () => {
    const keys = await redis.keys(`${prefix}*`)
    if (keys.length > 0) await redis.del(...keys)
    await redis.quit()
  })

  it('SET NX EX: fresh once, then seen — also from a second store instance', async () => {
    await redis.connect()
    const now = Date.now() / 1000
    const a = new RedisReplayStore(redis, { prefix })
    const b = new RedisReplayStore(redis, { prefix })
    assert.equal(await a.checkAndStore('jkt:jti-1', now + 60), true)
    assert.equal(await a.checkAndStore('jkt:jti-1', now + 60), false)
    assert.equal(await b.checkAndStore('jkt:jti-1', now + 60), false)
    assert.equal(await b.checkAndStore('jkt:jti-2', now + 60), true)
    const ttl = await redis.ttl(`${prefix}jkt:jti-1`)
    assert.ok(ttl > 55 && ttl <= 60, `ttl ${ttl}`)
    assert.equal(await redis.get(`${prefix}jkt:jti-1`), '1')
  })

  it('sends exactly SET key 1 EX ttl NX, with a ttl of at least 1 s', async () => {
    const calls: (string | number)[][] = []
    const fake = {
      set: (...args: (string | number)[]) => (calls.push(args), Promise.resolve('OK')),
    }
    const store = new RedisReplayStore(fake, { prefix: 'p:', now: () => 1000 })
    assert.equal(await store.checkAndStore('k', 1305), true)
    assert.equal(await store.checkAndStore('old', 900), true)
    assert.deepEqual(calls, [
      ['p:k', '1', 'EX', 305, 'NX'],
      ['p:old', '1', 'EX', 1, 'NX'],
    ])
  })

  it('fails closed when Redis errors or answers oddly', async () => {
    const down = new RedisReplayStore({ set: () => Promise.reject(new Error('ECONNREFUSED')) })
    await assert.rejects(down.checkAndStore('k', Date.now() / 1000 + 10), isUnavailable)
    const odd = new RedisReplayStore({ set: () => Promise.resolve('QUEUED') })
    await assert.rejects(odd.checkAndStore('k', Date.now() / 1000 + 10), isUnavailable)
  })
})
