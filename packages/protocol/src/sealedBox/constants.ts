import { blake2b } from '@noble/hashes/blake2.js'

/** Size of an X25519 public or secret key (libsodium `crypto_box_PUBLICKEYBYTES`). */
export const BOX_KEY_BYTES = 32
/** Size of the Poly1305 tag (`crypto_box_MACBYTES`). */
export const BOX_MAC_BYTES = 16
/** Size of the XSalsa20 nonce (`crypto_box_NONCEBYTES`). */
export const BOX_NONCE_BYTES = 24
/** Overhead of a sealed box: ephemeral public key ‖ tag (`crypto_box_SEALBYTES` = 48). */
export const SEAL_BYTES = BOX_KEY_BYTES + BOX_MAC_BYTES

/** "expand 32-byte k" as bytes: the Salsa20 sigma constant used by HSalsa20 in crypto_box. */
export const SIGMA_BYTES = new TextEncoder().encode('expand 32-byte k')

/**
 * Sealed-box nonce: BLAKE2b with a 24-byte output over `epk ‖ pk`
 * (libsodium `crypto_box_seal`, `_crypto_box_seal_nonce`).
 */
export function sealNonce(
  ephemeralPublicKey: Uint8Array,
  recipientPublicKey: Uint8Array,
): Uint8Array {
  return blake2b
    .create({ dkLen: BOX_NONCE_BYTES })
    .update(ephemeralPublicKey)
    .update(recipientPublicKey)
    .digest()
}

/** True when every byte is zero (an X25519 result from a low-order point; libsodium refuses it). */
export function isAllZero(bytes: Uint8Array): boolean {
  let acc = 0
  for (let i = 0; i < bytes.length; i++) acc |= bytes[i] ?? 0
  return acc === 0
}
