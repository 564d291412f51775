import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto'
import { base64url } from '@dauth/protocol'

/**
 * A wrapped (encrypted-at-rest) private key. `ct` is the ciphertext including any tag;
 * `iv` may be empty for wrappers that manage nonces themselves (e.g. a KMS blob).
 */
export interface WrappedKey {
  wrapper: string
  iv: string
  ct: string
}

/**
 * Wraps private keys at rest. The dev implementation is {@link AesGcmKeyWrapper} with a
 * master key file; a production deployment plugs a KMS here (the `context` string is bound
 * as additional authenticated data / encryption context so a wrapped blob cannot be moved
 * to another key id).
 *
 * @example
 * const wrapper = new AesGcmKeyWrapper(masterKey)
 * const wrapped = await wrapper.wrap(secretKey, 'kid-1')
 */
export interface KeyWrapper {
  readonly id: string
  wrap(plaintext: Uint8Array, context: string): Promise<WrappedKey>
  unwrap(wrapped: WrappedKey, context: string): Promise<Uint8Array>
}

export class KeyWrapError extends Error {
  readonly code = 'ERR_KEY_UNWRAP'
  constructor() {
    super('wrapped key could not be opened')
    this.name = 'KeyWrapError'
  }
}

/** AES-256-GCM key wrapping with a 32-byte master key; AAD = the key id. */
export class AesGcmKeyWrapper implements KeyWrapper {
  readonly id = 'A256GCM'
  readonly #key: Buffer
  constructor(masterKey: Uint8Array) {
    if (masterKey.length !== 32) throw new KeyWrapError()
    this.#key = Buffer.from(masterKey)
  }

  wrap(plaintext: Uint8Array, context: string): Promise<WrappedKey> {
    const iv = randomBytes(12)
    const cipher = createCipheriv('aes-256-gcm', this.#key, iv)
    cipher.setAAD(Buffer.from(context, 'utf8'))
    const ct = Buffer.concat([cipher.update(plaintext), cipher.final(), cipher.getAuthTag()])
    return Promise.resolve({ wrapper: this.id, iv: base64url.encode(iv), ct: base64url.encode(ct) })
  }

  unwrap(wrapped: WrappedKey, context: string): Promise<Uint8Array> {
    try {
      if (wrapped.wrapper !== this.id) throw new KeyWrapError()
      const iv = base64url.decode(wrapped.iv)
      const all = base64url.decode(wrapped.ct)
      if (iv.length !== 12 || all.length < 16) throw new KeyWrapError()
      const decipher = createDecipheriv('aes-256-gcm', this.#key, iv)
      decipher.setAAD(Buffer.from(context, 'utf8'))
      decipher.setAuthTag(all.subarray(all.length - 16))
      const out = Buffer.concat([
        decipher.update(all.subarray(0, all.length - 16)),
        decipher.final(),
      ])
      const copy = new Uint8Array(out)
      out.fill(0)
      return Promise.resolve(copy)
    } catch {
      return Promise.reject(new KeyWrapError())
    }
  }

  /** Overwrites the in-memory master key. */
  destroy(): void {
    this.#key.fill(0)
  }
}
