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
  /** stored as `wrapper` in every blob it makes; a blob of another id is refused */
  readonly id: string
  /** encrypts a 32-byte private key bound to `context` (the box-key `kid`) */
  wrap(plaintext: Uint8Array, context: string): Promise<WrappedKey>
  /** opens a blob made by {@link KeyWrapper.wrap} for the same `context`; rejects with {@link KeyWrapError} */
  unwrap(wrapped: WrappedKey, context: string): Promise<Uint8Array>
  /** forgets any key material it holds (optional) */
  destroy?(): void
}

/**
 * Serialisable description of the wrapper: the launcher builds one, uses it through
 * {@link createKeyWrapper} to wrap new box keys, and sends it to the worker in its `init`
 * IPC message; the worker builds its own wrapper from it and unwraps through the
 * {@link KeyWrapper} interface only. It may hold secret material (the dev master key): it
 * is never logged and never put in an env var. A KMS-backed wrapper adds a member here
 * (e.g. `{ type: 'aws-kms'; keyId: string; region: string }`) and a case in
 * {@link createKeyWrapper}, so its code is inside the measured worker bundle.
 */
export type KeyWrapperConfig = { type: 'A256GCM'; masterKey: string }

/** The wrappers compiled into the worker bundle, selected by `config.type`. */
export function createKeyWrapper(config: KeyWrapperConfig): KeyWrapper {
  switch (config.type) {
    case 'A256GCM': {
      const masterKey = base64url.decode(config.masterKey)
      try {
        return new AesGcmKeyWrapper(masterKey)
      } finally {
        masterKey.fill(0)
      }
    }
    default:
      throw new KeyWrapError()
  }
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
