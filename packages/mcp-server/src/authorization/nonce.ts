/**
 * Stateless DPoP nonces (RFC 9449 §8–9): an HMAC of the current time window, so that every
 * instance sharing the secret accepts the nonces of the others without shared storage. The
 * current and the previous window are accepted.
 *
 * @module
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto'

/** A source of server-provided DPoP nonces. */
export interface DpopNonceSource {
  /** The nonce to hand out now (`DPoP-Nonce` header). */
  current(): string
  /** Whether a nonce presented in a proof is still acceptable. */
  isValid(nonce: string): boolean
}

/** Options of {@link HmacDpopNonceSource}. */
export interface HmacDpopNonceOptions {
  /** Shared secret (≥ 32 bytes) for several instances; random per process when omitted. */
  secret?: Uint8Array | string
  /** Window length in seconds (default 60); a nonce lives between one and two windows. */
  windowSeconds?: number
  /** Clock in milliseconds (tests). */
  now?: () => number
}

/**
 * HMAC-SHA-256 time-window nonces.
 *
 * @example
 * ```ts
 * const nonces = new HmacDpopNonceSource({ secret: process.env.NONCE_SECRET })
 * nonces.isValid(nonces.current()) // true
 * ```
 */
export class HmacDpopNonceSource implements DpopNonceSource {
  readonly #secret: Buffer
  readonly #windowMs: number
  readonly #now: () => number

  constructor(options: HmacDpopNonceOptions = {}) {
    this.#secret =
      options.secret === undefined
        ? randomBytes(32)
        : typeof options.secret === 'string'
          ? Buffer.from(options.secret, 'utf8')
          : Buffer.from(options.secret)
    this.#windowMs = (options.windowSeconds ?? 60) * 1000
    this.#now = options.now ?? Date.now
  }

  #forWindow(window: number): string {
    return createHmac('sha256', this.#secret).update(`dpop-nonce:${window}`).digest('base64url')
  }

  current(): string {
    return this.#forWindow(Math.floor(this.#now() / this.#windowMs))
  }

  isValid(nonce: string): boolean {
    const window = Math.floor(this.#now() / this.#windowMs)
    const presented = Buffer.from(nonce)
    for (const candidate of [this.#forWindow(window), this.#forWindow(window - 1)]) {
      const expected = Buffer.from(candidate)
      if (presented.length === expected.length && timingSafeEqual(presented, expected)) return true
    }
    return false
  }
}
