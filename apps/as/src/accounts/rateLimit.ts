/**
 * Fixed-window failure counter for login attempts (per key, e.g. `user:<name>` and
 * `ip:<addr>`). In-process; several instances each keep their own (documented).
 */
export class LoginRateLimiter {
  readonly #max: number
  readonly #windowSeconds: number
  readonly #now: () => number
  readonly #failures = new Map<string, { count: number; resetAt: number }>()

  constructor(options: { max: number; windowSeconds: number; now: () => number }) {
    this.#max = options.max
    this.#windowSeconds = options.windowSeconds
    this.#now = options.now
  }

  /** True when the key has used up its failures in the current window. */
  blocked(key: string): boolean {
    const entry = this.#failures.get(key)
    if (!entry) return false
    if (entry.resetAt <= this.#now()) {
      this.#failures.delete(key)
      return false
    }
    return entry.count >= this.#max
  }

  fail(key: string): void {
    const now = this.#now()
    const entry = this.#failures.get(key)
    if (!entry || entry.resetAt <= now) {
      if (this.#failures.size > 100_000) this.#sweep(now)
      this.#failures.set(key, { count: 1, resetAt: now + this.#windowSeconds })
    } else entry.count += 1
  }

  reset(key: string): void {
    this.#failures.delete(key)
  }

  #sweep(now: number): void {
    for (const [key, entry] of this.#failures) if (entry.resetAt <= now) this.#failures.delete(key)
  }
}
