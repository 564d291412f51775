import { ReplayStoreError } from '../errors.ts'

/**
 * An atomic "have I seen this key before?" store for DPoP `jti`s (RFC 9449 §11.1).
 * `checkAndStore` records `key` until `expiresAtSeconds` and resolves `true` when the key
 * was fresh, `false` when it was already recorded and unexpired. A store that cannot decide
 * (full, backend down) must fail closed: reject with {@link ReplayStoreError} (the stores
 * here do) or resolve `false`.
 */
export interface ReplayStore {
  checkAndStore(key: string, expiresAtSeconds: number): Promise<boolean>
}

/** Options of {@link MemoryReplayStore}. */
export interface MemoryReplayStoreOptions {
  /** Most entries kept (default 1,000,000). */
  maxEntries?: number | undefined
  /** Clock in seconds (default `Date.now() / 1000`). */
  now?: (() => number) | undefined
}

/**
 * In-process replay store for one instance. It never evicts an unexpired entry (an evicting
 * LRU would let a flood make an old proof valid again): expired entries are swept, and when
 * the store is still full `checkAndStore` rejects with {@link ReplayStoreError}
 * `ERR_REPLAY_STORE_FULL` — the caller must refuse the proof (fail closed).
 *
 * @example
 * ```ts
 * const replayStore = new MemoryReplayStore({ maxEntries: 100_000 })
 * await verifyDpopProof(proof, { htm, htu, replayStore })
 * ```
 */
export class MemoryReplayStore implements ReplayStore {
  readonly #entries = new Map<string, number>()
  readonly #maxEntries: number
  readonly #now: () => number
  #lastFullSweep = Number.NEGATIVE_INFINITY

  /** @param options - capacity and clock */
  constructor(options: MemoryReplayStoreOptions = {}) {
    const max = options.maxEntries ?? 1_000_000
    if (!Number.isSafeInteger(max) || max < 1)
      throw new RangeError('maxEntries must be a positive integer')
    this.#maxEntries = max
    this.#now = options.now ?? (() => Date.now() / 1000)
  }

  /** Number of entries currently held (expired ones included until swept). */
  get size(): number {
    return this.#entries.size
  }

  /** Records `key` until `expiresAtSeconds`; `false` if already recorded and unexpired. */
  checkAndStore(key: string, expiresAtSeconds: number): Promise<boolean> {
    try {
      return Promise.resolve(this.#checkAndStore(key, expiresAtSeconds))
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)))
    }
  }

  #checkAndStore(key: string, expiresAtSeconds: number): boolean {
    const now = this.#now()
    const existing = this.#entries.get(key)
    if (existing !== undefined) {
      if (existing > now) return false
      this.#entries.delete(key)
    }
    this.#sweepHead(now)
    if (this.#entries.size >= this.#maxEntries) {
      // A full sweep costs O(n): at most once per second of clock time, so a flood cannot
      // turn every request into a scan.
      if (now - this.#lastFullSweep >= 1) {
        this.#lastFullSweep = now
        for (const [k, exp] of this.#entries) if (exp <= now) this.#entries.delete(k)
      }
      if (this.#entries.size >= this.#maxEntries)
        throw new ReplayStoreError('ERR_REPLAY_STORE_FULL')
    }
    this.#entries.set(key, expiresAtSeconds)
    return true
  }

  /** Entries arrive roughly in expiry order: drop a few expired ones from the oldest end. */
  #sweepHead(now: number): void {
    let budget = 8
    for (const [k, exp] of this.#entries) {
      if (budget-- === 0 || exp > now) return
      this.#entries.delete(k)
    }
  }
}

/**
 * The one Redis command used here, in ioredis' calling convention (an ioredis `Redis` or
 * `Cluster` fits as is; wrap other clients): `SET key value EX seconds NX`, resolving `'OK'`
 * when set and `null` when the key already existed.
 */
export interface RedisSetClient {
  set(key: string, value: string, secondsToken: 'EX', seconds: number, nx: 'NX'): Promise<unknown>
}

/** Options of {@link RedisReplayStore}. */
export interface RedisReplayStoreOptions {
  /** Key prefix (default `dauth:dpop:jti:`). */
  prefix?: string | undefined
  /** Clock in seconds (default `Date.now() / 1000`). */
  now?: (() => number) | undefined
}

/**
 * Replay store shared by several instances through Redis: one atomic
 * `SET <prefix><key> 1 EX <ttl> NX` per check (`OK` = fresh, `null` = seen). Entries expire
 * on their own; nothing is evicted early as long as Redis runs with a `noeviction` or
 * `volatile-*` policy and enough memory. A Redis error rejects with {@link ReplayStoreError}
 * `ERR_REPLAY_STORE_UNAVAILABLE` (fail closed).
 *
 * @example
 * ```ts
 * import { Redis } from 'ioredis'
 * const replayStore = new RedisReplayStore(new Redis(process.env.REDIS_URL!), { prefix: 'mcp:jti:' })
 * ```
 */
export class RedisReplayStore implements ReplayStore {
  readonly #client: RedisSetClient
  readonly #prefix: string
  readonly #now: () => number

  /**
   * @param client - anything with an ioredis-style variadic `set`
   * @param options - key prefix and clock
   */
  constructor(client: RedisSetClient, options: RedisReplayStoreOptions = {}) {
    this.#client = client
    this.#prefix = options.prefix ?? 'dauth:dpop:jti:'
    this.#now = options.now ?? (() => Date.now() / 1000)
  }

  /** Records `key` until `expiresAtSeconds` (at least 1 s); `false` if already recorded. */
  async checkAndStore(key: string, expiresAtSeconds: number): Promise<boolean> {
    const ttl = Math.max(1, Math.ceil(expiresAtSeconds - this.#now()))
    let reply: unknown
    try {
      reply = await this.#client.set(`${this.#prefix}${key}`, '1', 'EX', ttl, 'NX')
    } catch {
      throw new ReplayStoreError('ERR_REPLAY_STORE_UNAVAILABLE')
    }
    if (reply === 'OK') return true
    if (reply === null || reply === undefined) return false
    throw new ReplayStoreError('ERR_REPLAY_STORE_UNAVAILABLE')
  }
}
