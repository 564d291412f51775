/**
 * Fast sealed box for Node: X25519 in OpenSSL through node:crypto, HSalsa20 and
 * XSalsa20-Poly1305 from @noble/ciphers. Byte-compatible with libsodium `crypto_box_seal`.
 *
 * crypto_box_seal(m, pk):
 *   (epk, esk) = fresh X25519 key pair
 *   nonce      = BLAKE2b-192(epk ‖ pk)
 *   k          = HSalsa20(X25519(esk, pk), 0^16)            (crypto_box_beforenm)
 *   output     = epk ‖ XSalsa20-Poly1305(k, nonce, m)        (tag ‖ ciphertext)
 */
import {
  type KeyObject,
  createHash,
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  generateKeyPairSync,
  randomFillSync,
  timingSafeEqual,
} from 'node:crypto'
import { hsalsa, xsalsa20poly1305 } from '@noble/ciphers/salsa.js'
import { base64url } from '../encoding/base64url.ts'
import { SealedBoxError } from '../errors.ts'
import { BOX_KEY_BYTES, SEAL_BYTES, SIGMA_BYTES, isAllZero, sealNonce } from './constants.ts'
import type { BoxKeyPair } from './types.ts'

// PKCS#8 / SPKI DER prefixes of an X25519 key (RFC 8410): the raw key follows.
const PKCS8_X25519_PREFIX = Buffer.from('302e020100300506032b656e04220420', 'hex')
const SPKI_X25519_PREFIX_LENGTH = 12

// HSalsa20 takes 32-bit words in host order (noble swaps on big-endian hosts itself).
const SIGMA_WORDS = new Uint32Array(SIGMA_BYTES.slice().buffer)
const ZERO_NONCE_WORDS = new Uint32Array(4)

function importPrivateKey(secretKey: Uint8Array): KeyObject {
  const der = Buffer.alloc(PKCS8_X25519_PREFIX.length + BOX_KEY_BYTES)
  PKCS8_X25519_PREFIX.copy(der, 0)
  der.set(secretKey, PKCS8_X25519_PREFIX.length)
  try {
    return createPrivateKey({ key: der, format: 'der', type: 'pkcs8' })
  } finally {
    der.fill(0)
  }
}

function importPublicKey(publicKey: Uint8Array): KeyObject {
  return createPublicKey({
    key: { kty: 'OKP', crv: 'X25519', x: base64url.encode(publicKey) },
    format: 'jwk',
  })
}

// Importing a private key costs more than the X25519 operation itself, so the KeyObject is
// cached per secretKey array. A SHA-256 of the bytes guards against a caller that changed or
// zeroed the array since: the cache then re-imports (or fails) instead of using a stale key.
const privateKeyCache = new WeakMap<Uint8Array, { key: KeyObject; digest: Buffer }>()

function privateKeyFor(secretKey: Uint8Array): KeyObject {
  const digest = createHash('sha256').update(secretKey).digest()
  const cached = privateKeyCache.get(secretKey)
  if (cached !== undefined && timingSafeEqual(cached.digest, digest)) return cached.key
  const key = importPrivateKey(secretKey)
  privateKeyCache.set(secretKey, { key, digest })
  return key
}

/** crypto_box_beforenm with the X25519 step in OpenSSL; throws on an all-zero shared secret. */
function beforenm(privateKey: KeyObject, publicKey: KeyObject): Uint8Array {
  let shared: Buffer
  try {
    // OpenSSL refuses an all-zero result (low-order point), like libsodium.
    shared = diffieHellman({ privateKey, publicKey })
  } catch {
    throw new SealedBoxError()
  }
  const keyWords = new Uint32Array(8)
  const out = new Uint32Array(8)
  try {
    if (isAllZero(shared)) throw new SealedBoxError()
    new Uint8Array(keyWords.buffer).set(shared)
    hsalsa(SIGMA_WORDS, keyWords, ZERO_NONCE_WORDS, out)
    return new Uint8Array(out.buffer)
  } finally {
    shared.fill(0)
    keyWords.fill(0)
  }
}

/**
 * Generates an X25519 key pair for sealed boxes (`crypto_box_keypair`).
 *
 * @example
 * ```ts
 * const { publicKey, secretKey } = generateBoxKeyPair() // 32 bytes each
 * ```
 */
export function generateBoxKeyPair(): BoxKeyPair {
  const secretKey = randomFillSync(new Uint8Array(BOX_KEY_BYTES))
  const privateKey = importPrivateKey(secretKey)
  const spki = createPublicKey(privateKey).export({ format: 'der', type: 'spki' })
  const publicKey = new Uint8Array(spki.subarray(SPKI_X25519_PREFIX_LENGTH))
  privateKeyCache.set(secretKey, {
    key: privateKey,
    digest: createHash('sha256').update(secretKey).digest(),
  })
  return { publicKey, secretKey }
}

/**
 * Seals `message` to `recipientPublicKey` (libsodium `crypto_box_seal`): only the holder of
 * the matching secret key can open it, and the sender stays anonymous. The ephemeral secret
 * key never leaves OpenSSL; the derived box key is zeroed after use.
 *
 * @example
 * ```ts
 * const sealed = sealBox(new TextEncoder().encode('secret'), recipient.publicKey)
 * sealed.length // message length + 48
 * ```
 */
export function sealBox(message: Uint8Array, recipientPublicKey: Uint8Array): Uint8Array {
  if (!(recipientPublicKey instanceof Uint8Array) || recipientPublicKey.length !== BOX_KEY_BYTES) {
    throw new SealedBoxError('ERR_SEALED_BOX_KEY')
  }
  const ephemeral = generateKeyPairSync('x25519')
  const jwk = ephemeral.publicKey.export({ format: 'jwk' })
  const epk = base64url.decode(jwk.x ?? '')
  const nonce = sealNonce(epk, recipientPublicKey)
  let recipient: KeyObject
  try {
    recipient = importPublicKey(recipientPublicKey)
  } catch {
    throw new SealedBoxError('ERR_SEALED_BOX_KEY')
  }
  const k = beforenm(ephemeral.privateKey, recipient)
  try {
    const box = xsalsa20poly1305(k, nonce).encrypt(message)
    const out = new Uint8Array(BOX_KEY_BYTES + box.length)
    out.set(epk, 0)
    out.set(box, BOX_KEY_BYTES)
    return out
  } finally {
    k.fill(0)
  }
}

/**
 * Opens a sealed box (libsodium `crypto_box_seal_open`). Every failure — input shorter than
 * 48 bytes, any flipped byte, wrong key, malformed key pair — throws the same
 * {@link SealedBoxError} `ERR_SEALED_BOX_OPEN` with no detail.
 *
 * @example
 * ```ts
 * const message = openSealedBox(sealed, keyPair)
 * ```
 */
export function openSealedBox(sealed: Uint8Array, keyPair: BoxKeyPair): Uint8Array {
  if (
    !(sealed instanceof Uint8Array) ||
    sealed.length < SEAL_BYTES ||
    !(keyPair?.publicKey instanceof Uint8Array) ||
    !(keyPair.secretKey instanceof Uint8Array) ||
    keyPair.publicKey.length !== BOX_KEY_BYTES ||
    keyPair.secretKey.length !== BOX_KEY_BYTES
  ) {
    throw new SealedBoxError()
  }
  const epk = sealed.subarray(0, BOX_KEY_BYTES)
  let privateKey: KeyObject
  let ephemeral: KeyObject
  try {
    privateKey = privateKeyFor(keyPair.secretKey)
    ephemeral = importPublicKey(epk)
  } catch {
    throw new SealedBoxError()
  }
  const nonce = sealNonce(epk, keyPair.publicKey)
  const k = beforenm(privateKey, ephemeral)
  try {
    return xsalsa20poly1305(k, nonce).decrypt(sealed.subarray(BOX_KEY_BYTES))
  } catch {
    throw new SealedBoxError()
  } finally {
    k.fill(0)
  }
}
