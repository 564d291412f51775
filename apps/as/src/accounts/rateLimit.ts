import { createHash } from 'node:crypto'

/**
 * Fixed-window failure counter for sign-in attempts, per key (`user:<name>`, `ip:<addr>`).
 * The key never depends on whether the account exists: unknown and known usernames are
 * limited alike (no enumeration through 429s).
 */
export interface LoginRateLimiter {
  /** True when the key has used up its failures in the current window. */
  blocked(key: string): Promise<boolean>
  /** Counts one failure; the window starts with the first failure. */
  fail(key: string): Promise<void>
  reset(key: string): Promise<void>
}

export interface LoginRateLimitOptions {
  max: number
  windowSeconds: number
}

/** In-process limiter (one AS instance, or no `REDIS_URL`): each instance counts alone. */
export class MemoryLoginRateLimiter implements LoginRateLimiter {
  readonly #max: number
  readonly #windowSeconds: number
  readonly #now: () => number
  readonly #failures = new Map<string, { count: number; resetAt: number }>()

  constructor(options: LoginRateLimitOptions & { now: () => number }) {
    this.#max = options.max
    this.#windowSeconds = options.windowSeconds
    this.#now = options.now
  }

  blocked(key: string): Promise<boolean> {
    const entry = this.#failures.get(key)
    if (!entry) return Promise.resolve(false)
    if (entry.resetAt <= this.#now()) {
      this.#failures.delete(key)
      return Promise.resolve(false)
    }
    return Promise.resolve(entry.count >= this.#max)
  }

  fail(key: string): Promise<void> {
    const now = this.#now()
    const entry = this.#failures.get(key)
    if (!entry || entry.resetAt <= now) {
      if (this.#failures.size > 100_000) this.#sweep(now)
      this.#failures.set(key, { count: 1, resetAt: now + this.#windowSeconds })
    } else entry.count += 1
    return Promise.resolve()
  }

  reset(key: string): Promise<void> {
    this.#failures.delete(key)
    return Promise.resolve()
  }

  #sweep(now: number): void {
    for (const [key, entry] of this.#failures) if (entry.resetAt <= now) this.#failures.delete(key)
  }
}

/** The few Redis commands the limiter needs (ioredis fits). */
export interface RedisLimiterClient {
  eval(script: string, numKeys: number, ...args: (string | number)[]): Promise<unknown>
  get(key: string): Promise<string | null>
  del(key: string): Promise<number>
}

// INCR and PEXPIRE in one script: atomic, so a counter never exists without its expiry
// (a crash between two separate commands would otherwise lock a username out for good).
const FAIL_SCRIPT = `local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return n`

/** Redis key of a limiter key: hashed, so no username sits in Redis and lengths are fixed. */
export function redisLimiterKey(prefix: string, key: string): string {
  return prefix + createHash('sha256').update(key).digest('base64url')
}

/**
 * Limiter shared by every instance through Redis (`REDIS_URL`): one counter per key,
 * expiring with its window.
 */
export class RedisLoginRateLimiter implements LoginRateLimiter {
  readonly #redis: RedisLimiterClient
  readonly #max: number
  readonly #windowMs: number
  readonly #prefix: string

  constructor(redis: RedisLimiterClient, options: LoginRateLimitOptions & { prefix: string }) {
    this.#redis = redis
    this.#max = options.max
    this.#windowMs = options.windowSeconds * 1000
    this.#prefix = options.prefix
  }

  async blocked(key: string): Promise<boolean> {
    const count = await this.#redis.get(redisLimiterKey(this.#prefix, key))
    return count !== null && Number(count) >= this.#max
  }

  async fail(key: string): Promise<void> {
    await this.#redis.eval(FAIL_SCRIPT, 1, redisLimiterKey(this.#prefix, key), this.#windowMs)
  }

  async reset(key: string): Promise<void> {
    await this.#redis.del(redisLimiterKey(this.#prefix, key))
  }
}
