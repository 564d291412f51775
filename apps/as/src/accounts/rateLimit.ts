import { createHash } from 'node:crypto'

/**
 * Fixed-window counter of sign-in attempts, per key (`user:<name>`, `ip:<addr>`). An attempt
 * is counted *before* the password is checked (reserve, then refund on success), so parallel
 * guesses cannot all slip past a check-then-count window. The key never depends on whether
 * the account exists: unknown and known usernames are limited alike (no enumeration).
 */
export interface LoginRateLimiter {
  /** Atomically counts one attempt; false when it is over the limit of the current window. */
  attempt(key: string): Promise<boolean>
  /** Gives back one counted attempt (it succeeded and should not count against the key). */
  refund(key: string): Promise<void>
  /** Forgets the key (after a successful sign-in for that username). */
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
  readonly #attempts = new Map<string, { count: number; resetAt: number }>()

  constructor(options: LoginRateLimitOptions & { now: () => number }) {
    this.#max = options.max
    this.#windowSeconds = options.windowSeconds
    this.#now = options.now
  }

  attempt(key: string): Promise<boolean> {
    const now = this.#now()
    const entry = this.#attempts.get(key)
    if (!entry || entry.resetAt <= now) {
      if (this.#attempts.size > 100_000) this.#sweep(now)
      this.#attempts.set(key, { count: 1, resetAt: now + this.#windowSeconds })
      return Promise.resolve(1 <= this.#max)
    }
    entry.count += 1
    return Promise.resolve(entry.count <= this.#max)
  }

  refund(key: string): Promise<void> {
    const entry = this.#attempts.get(key)
    if (entry && entry.count > 0) entry.count -= 1
    return Promise.resolve()
  }

  reset(key: string): Promise<void> {
    this.#attempts.delete(key)
    return Promise.resolve()
  }

  #sweep(now: number): void {
    for (const [key, entry] of this.#attempts) if (entry.resetAt <= now) this.#attempts.delete(key)
  }
}

/** The few Redis commands the limiter needs (ioredis fits). */
export interface RedisLimiterClient {
  eval(script: string, numKeys: number, ...args: (string | number)[]): Promise<unknown>
  del(key: string): Promise<number>
}

// INCR and PEXPIRE in one script: atomic, so a counter never exists without its expiry
// (a crash between two separate commands would otherwise lock a username out for good).
const ATTEMPT_SCRIPT = `local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return n`

// DECR only an existing, positive counter: never creates a key without expiry.
const REFUND_SCRIPT = `if tonumber(redis.call('GET', KEYS[1]) or '0') > 0 then
  return redis.call('DECR', KEYS[1])
end
return 0`

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

  async attempt(key: string): Promise<boolean> {
    const count = await this.#redis.eval(
      ATTEMPT_SCRIPT,
      1,
      redisLimiterKey(this.#prefix, key),
      this.#windowMs,
    )
    return Number(count) <= this.#max
  }

  async refund(key: string): Promise<void> {
    await this.#redis.eval(REFUND_SCRIPT, 1, redisLimiterKey(this.#prefix, key))
  }

  async reset(key: string): Promise<void> {
    await this.#redis.del(redisLimiterKey(this.#prefix, key))
  }
}
