// Login rate limits: one interface, in memory and in Redis (REDIS_URL), the same limiting for
// unknown and known usernames, and (Redis) shared by every AS instance.
import { describe, test, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import {
  MemoryLoginRateLimiter,
  RedisLoginRateLimiter,
  redisLimiterKey,
  type LoginRateLimiter,
} from '../src/accounts/rateLimit.ts'
import { startTestServer, type TestServer } from './helpers.ts'
import { REDIS_URL, redisAvailable, redisNamespace } from './helpers/backends.ts'
import { authorizeUrl, Browser, csrfOf, pkce } from './helpers/formBrowser.ts'

const redisUp = await redisAvailable()
const WINDOW = 900

const backends: {
  name: string
  skip: boolean
  open(): {
    limiter: LoginRateLimiter
    close: () => Promise<void>
    pttl?: (key: string) => Promise<number>
  }
}[] = [
  {
    name: 'memory',
    skip: false,
    open: () => ({
      limiter: new MemoryLoginRateLimiter({
        max: 3,
        windowSeconds: WINDOW,
        now: () => Math.floor(Date.now() / 1000),
      }),
      close: () => Promise.resolve(),
    }),
  },
  {
    name: 'redis',
    skip: !redisUp,
    open: () => {
      const ns = redisNamespace()
      return {
        limiter: new RedisLoginRateLimiter(ns.redis, {
          max: 3,
          windowSeconds: WINDOW,
          prefix: ns.prefix,
        }),
        close: () => ns.drop(),
        pttl: (key) => ns.redis.pttl(redisLimiterKey(ns.prefix, key)),
      }
    },
  },
]

for (const backend of backends) {
  describe(`${backend.name} login rate limiter`, {
    skip: backend.skip && 'Redis unreachable',
  }, () => {
    test('max attempts per key and window, other keys unaffected, refund and reset', async (t) => {
      const { limiter, close, pttl } = backend.open()
      t.after(close)
      for (let i = 0; i < 3; i++)
        assert.equal(await limiter.attempt('user:demo'), true, `#${i + 1}`)
      assert.equal(await limiter.attempt('user:demo'), false)
      assert.equal(await limiter.attempt('user:other'), true)
      if (pttl) {
        // INCR and PEXPIRE are one script: the counter always carries the window's expiry,
        // set by the first attempt and not extended by later ones (fixed window).
        const ms = await pttl('user:demo')
        assert.ok(ms > 0 && ms <= WINDOW * 1000, `pttl ${ms}`)
      }
      await limiter.reset('user:demo')
      assert.equal(await limiter.attempt('user:demo'), true)
      // A refunded attempt (a successful sign-in) does not count.
      await limiter.attempt('ip:x')
      await limiter.attempt('ip:x')
      await limiter.refund('ip:x')
      assert.equal(await limiter.attempt('ip:x'), true)
      assert.equal(await limiter.attempt('ip:x'), true)
      assert.equal(await limiter.attempt('ip:x'), false)
      // Refunding an unknown key creates nothing.
      await limiter.refund('ip:never-seen')
      assert.equal(await limiter.attempt('ip:never-seen'), true)
      if (pttl) assert.ok((await pttl('ip:never-seen')) > 0, 'counter has its expiry')
    })

    test('20 parallel attempts with a limit of 3: exactly 3 allowed (atomic)', async (t) => {
      const { limiter, close } = backend.open()
      t.after(close)
      const allowed = await Promise.all(Array.from({ length: 20 }, () => limiter.attempt('ip:a')))
      assert.equal(allowed.filter(Boolean).length, 3)
    })
  })
}

test('Redis keys are hashed: no username is stored in Redis', async (t) => {
  if (!redisUp) return t.skip('Redis unreachable')
  const ns = redisNamespace()
  t.after(() => ns.drop())
  const limiter = new RedisLoginRateLimiter(ns.redis, {
    max: 3,
    windowSeconds: 60,
    prefix: ns.prefix,
  })
  await limiter.attempt('user:alice@example.com')
  const keys = await ns.redis.keys(`${ns.prefix}*`)
  assert.deepEqual(keys, [
    `${ns.prefix}${createHash('sha256').update('user:alice@example.com').digest('base64url')}`,
  ])
})

/** Opens the login page of a fresh authorization request; returns a submitter. */
async function loginForm(server: TestServer) {
  const browser = new Browser(server.url)
  const start = await browser.request(authorizeUrl(pkce().challenge))
  assert.equal(start.status, 303)
  const page = await browser.request(start.location!)
  const csrf = csrfOf(page.text)
  return async (username: string, password: string) => {
    const res = await browser.request(`${start.location!}/login`, {
      method: 'POST',
      form: { csrf, username, password },
    })
    return {
      status: res.status,
      message: /<p class="error" role="alert">([^<]*)<\/p>/.exec(res.text)?.[1],
    }
  }
}

/** A dev AS with a login limit of 3 on `backend` (its own Redis namespace), closed after `t`. */
async function startLimitedServer(
  t: TestContext,
  backend: 'memory' | 'redis',
): Promise<{ server: TestServer; ns: ReturnType<typeof redisNamespace> | undefined }> {
  const ns = backend === 'redis' ? redisNamespace() : undefined
  const server = await startTestServer({
    dev: true,
    loginMaxFailures: 3,
    ...(ns ? { redisUrl: REDIS_URL, redisKeyPrefix: ns.prefix } : {}),
  })
  t.after(async () => {
    await server.close()
    await ns?.drop()
  })
  return { server, ns }
}

const INVALID = { status: 401, message: 'Invalid username or password.' }
const LIMITED = { status: 429, message: 'Too many sign-in attempts. Try again later.' }

for (const backend of ['memory', 'redis'] as const) {
  test(`${backend}: unknown and known usernames get the same answers and the same limit`, async (t) => {
    if (backend === 'redis' && !redisUp) return t.skip('Redis unreachable')
    const { server, ns } = await startLimitedServer(t, backend)
    const attempt = await loginForm(server)
    for (let i = 0; i < 3; i++) {
      assert.deepEqual(await attempt('nobody-here', `wrong-${i}`), INVALID)
      assert.deepEqual(await attempt('demo', `wrong-${i}`), INVALID)
    }
    // Both usernames are now limited, the existing one even with its right password.
    assert.deepEqual(await attempt('nobody-here', 'x'), LIMITED)
    assert.deepEqual(await attempt('demo', 'demo-password'), LIMITED)
    if (ns) {
      const keys = await ns.redis.keys(`${ns.prefix}login:*`)
      // user:nobody-here, user:demo and the client IP.
      assert.equal(keys.length, 3)
      for (const key of keys) assert.ok((await ns.redis.pttl(key)) > 0)
    }
  })
}

for (const backend of ['memory', 'redis'] as const) {
  test(`${backend}: 12 parallel wrong passwords with a limit of 3: 3 are checked, 9 get 429`, async (t) => {
    if (backend === 'redis' && !redisUp) return t.skip('Redis unreachable')
    const { server } = await startLimitedServer(t, backend)
    const attempt = await loginForm(server)
    const answers = await Promise.all(
      Array.from({ length: 12 }, (_, i) => attempt('demo', `parallel-guess-${i}`)),
    )
    assert.equal(answers.filter((a) => a.status === 401).length, 3)
    assert.equal(answers.filter((a) => a.status === 429).length, 9)
    assert.deepEqual(await attempt('demo', 'demo-password'), LIMITED)
  })
}

test('redis: two AS instances share one login limit', async (t) => {
  if (!redisUp) return t.skip('Redis unreachable')
  const ns = redisNamespace()
  const options = { dev: true, loginMaxFailures: 3, redisUrl: REDIS_URL, redisKeyPrefix: ns.prefix }
  const a = await startTestServer(options)
  const b = await startTestServer(options)
  t.after(async () => {
    await a.close()
    await b.close()
    await ns.drop()
  })
  const atA = await loginForm(a)
  const atB = await loginForm(b)
  assert.deepEqual(await atA('demo', 'wrong-1'), INVALID)
  assert.deepEqual(await atB('demo', 'wrong-2'), INVALID)
  assert.deepEqual(await atA('demo', 'wrong-3'), INVALID)
  // Three failures across two instances: the limit is reached at both.
  assert.deepEqual(await atB('demo', 'demo-password'), LIMITED)
  assert.deepEqual(await atA('demo', 'demo-password'), LIMITED)
})

test('an unreachable Redis fails sign-in closed: 503 temporarily_unavailable, no password check', async (t) => {
  const { createServer } = await import('node:net')
  const closed = createServer()
  closed.listen(0, '127.0.0.1')
  await new Promise((resolve) => closed.once('listening', resolve))
  const port = (closed.address() as { port: number }).port
  await new Promise((resolve) => closed.close(resolve))
  const server = await startTestServer({ dev: true, redisUrl: `redis://127.0.0.1:${port}` })
  t.after(() => server.close())
  const browser = new Browser(server.url)
  const start = await browser.request(authorizeUrl('E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM'))
  const page = await browser.request(start.location!)
  const res = await browser.request(`${start.location!}/login`, {
    method: 'POST',
    form: { csrf: csrfOf(page.text), username: 'demo', password: 'demo-password' },
  })
  assert.equal(res.status, 503)
  assert.equal(res.headers.get('retry-after'), '5')
  assert.deepEqual(JSON.parse(res.text), {
    error: 'temporarily_unavailable',
    error_description: "The authorization server's storage is temporarily unavailable",
  })
})
