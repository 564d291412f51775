/**
 * Pure-JavaScript sealed box (tweetnacl + @noble/hashes BLAKE2b): the portable reference
 * implementation, usable where node:crypto is not (browsers). Byte-compatible with
 * libsodium `crypto_box_seal` / `crypto_box_seal_open`.
 */
import nacl from 'tweetnacl'
import { SealedBoxError } from '../errors.ts'
import { BOX_KEY_BYTES, SEAL_BYTES, SIGMA_BYTES, isAllZero, sealNonce } from './constants.ts'
import type { BoxKeyPair } from './types.ts'

interface NaclLowLevel {
  crypto_core_hsalsa20(
    out: Uint8Array,
    input: Uint8Array,
    key: Uint8Array,
    sigma: Uint8Array,
  ): number
}
// tweetnacl exposes HSalsa20 as nacl.lowlevel, but its typings omit it.
const lowlevel = (nacl as unknown as { lowlevel: NaclLowLevel }).lowlevel
const ZERO16 = new Uint8Array(16)

/** crypto_box_beforenm: HSalsa20(X25519(sk, pk), 0^16). Throws on an all-zero shared secret. */
function beforenm(publicKey: Uint8Array, secretKey: Uint8Array): Uint8Array {
  const shared = nacl.scalarMult(secretKey, publicKey)
  try {
    if (isAllZero(shared)) throw new SealedBoxError()
    const k = new Uint8Array(32)
    lowlevel.crypto_core_hsalsa20(k, ZERO16, shared, SIGMA_BYTES)
    return k
  } finally {
    shared.fill(0)
  }
}

/**
 * Seals `message` to `recipientPublicKey` (libsodium `crypto_box_seal`) in pure JavaScript.
 *
 * @example
 * ```ts
 * const ct = sealBoxPortable(new TextEncoder().encode('hi'), keyPair.publicKey)
 * ```
 */
export function sealBoxPortable(message: Uint8Array, recipientPublicKey: Uint8Array): Uint8Array {
  if (!(recipientPublicKey instanceof Uint8Array) || recipientPublicKey.length !== BOX_KEY_BYTES) {
    throw new SealedBoxError('ERR_SEALED_BOX_KEY')
  }
  const ephemeral = nacl.box.keyPair()
  const nonce = sealNonce(ephemeral.publicKey, recipientPublicKey)
  let k: Uint8Array | undefined
  try {
    k = beforenm(recipientPublicKey, ephemeral.secretKey)
    const box = nacl.secretbox(message, nonce, k)
    const out = new Uint8Array(BOX_KEY_BYTES + box.length)
    out.set(ephemeral.publicKey, 0)
    out.set(box, BOX_KEY_BYTES)
    return out
  } finally {
    ephemeral.secretKey.fill(0)
    k?.fill(0)
  }
}

/**
 * Opens a sealed box (libsodium `crypto_box_seal_open`) in pure JavaScript.
 * Throws one {@link SealedBoxError} (`ERR_SEALED_BOX_OPEN`) for every failure.
 *
 * @example
 * ```ts
 * const message = openSealedBoxPortable(ct, keyPair)
 * ```
 */
export function openSealedBoxPortable(sealed: Uint8Array, keyPair: BoxKeyPair): Uint8Array {
  if (
    !(sealed instanceof Uint8Array) ||
    sealed.length < SEAL_BYTES ||
    keyPair?.publicKey?.length !== BOX_KEY_BYTES ||
    keyPair.secretKey?.length !== BOX_KEY_BYTES
  ) {
    throw new SealedBoxError()
  }
  const epk = sealed.subarray(0, BOX_KEY_BYTES)
  const nonce = sealNonce(epk, keyPair.publicKey)
  const k = beforenm(epk, keyPair.secretKey)
  try {
    const message = nacl.secretbox.open(sealed.subarray(BOX_KEY_BYTES), nonce, k)
    if (message === null) throw new SealedBoxError()
    return message
  } finally {
    k.fill(0)
  }
}
