import { inspect } from 'node:util'
import { DAuthError } from '../errors.ts'

const REDACTED = '[REDACTED]'

/**
 * Holder for secret bytes (a credential, a private key) that never shows its content:
 * `util.inspect`, `console.log`, `JSON.stringify`, string conversion and template literals
 * all give `[REDACTED]`. The bytes are reachable only through {@link SecretBytes.use} and
 * are wiped (filled with 0) by {@link SecretBytes.zeroize}.
 *
 * The constructor takes ownership of `bytes` (no copy): zeroize() wipes the caller's array.
 *
 * @example
 * ```ts
 * const secret = new SecretBytes(new TextEncoder().encode('ghp_…'))
 * console.log(secret)                 // [REDACTED]
 * secret.use((bytes) => sendSomewhere(bytes))
 * secret.zeroize()
 * ```
 */
export class SecretBytes {
  #bytes: Uint8Array
  #zeroized = false

  /** @param bytes - the secret; owned by the new holder from now on */
  constructor(bytes: Uint8Array) {
    if (!(bytes instanceof Uint8Array)) throw new TypeError('SecretBytes expects a Uint8Array')
    this.#bytes = bytes
  }

  /** Number of secret bytes (0 after {@link SecretBytes.zeroize}). */
  get length(): number {
    return this.#zeroized ? 0 : this.#bytes.length
  }

  /** True once {@link SecretBytes.zeroize} has run. */
  get zeroized(): boolean {
    return this.#zeroized
  }

  /**
   * Lends the bytes to `fn` and returns its result. `fn` must not keep a reference to them.
   * Throws `DAuthError` code `ERR_SECRET_ZEROIZED` after {@link SecretBytes.zeroize}.
   */
  use<T>(fn: (bytes: Uint8Array) => T): T {
    if (this.#zeroized) throw new DAuthError('ERR_SECRET_ZEROIZED', 'Secret has been zeroized')
    return fn(this.#bytes)
  }

  /** Overwrites the bytes with zeros; idempotent. */
  zeroize(): void {
    this.#bytes.fill(0)
    this.#zeroized = true
  }

  /** Always `[REDACTED]`. */
  toString(): string {
    return REDACTED
  }

  /** Always `[REDACTED]`, so `JSON.stringify` never serialises the secret. */
  toJSON(): string {
    return REDACTED
  }

  /** Always `[REDACTED]` (for `util.inspect` / `console.log`). */
  [inspect.custom](): string {
    return REDACTED
  }

  /** Always `[REDACTED]` (template literals, `+` concatenation). */
  [Symbol.toPrimitive](): string {
    return REDACTED
  }
}
