/**
 * base64url between byte arrays, never through a JS string: secrets encoded or decoded here
 * stay in Uint8Arrays that the caller can zero (JS strings are immutable and linger until GC).
 */
const ALPHABET = new TextEncoder().encode(
  'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_',
)
const LOOKUP = new Int16Array(256).fill(-1)
for (let i = 0; i < ALPHABET.length; i++) LOOKUP[ALPHABET[i] ?? 0] = i

/** Encodes bytes to the ASCII bytes of their unpadded base64url form. */
export function encodeBase64urlBytes(bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(Math.ceil((bytes.length * 4) / 3))
  let o = 0
  let i = 0
  for (; i + 2 < bytes.length; i += 3) {
    const n = ((bytes[i] ?? 0) << 16) | ((bytes[i + 1] ?? 0) << 8) | (bytes[i + 2] ?? 0)
    out[o++] = ALPHABET[(n >>> 18) & 63] ?? 0
    out[o++] = ALPHABET[(n >>> 12) & 63] ?? 0
    out[o++] = ALPHABET[(n >>> 6) & 63] ?? 0
    out[o++] = ALPHABET[n & 63] ?? 0
  }
  const rest = bytes.length - i
  if (rest > 0) {
    const n = ((bytes[i] ?? 0) << 16) | (rest === 2 ? (bytes[i + 1] ?? 0) << 8 : 0)
    out[o++] = ALPHABET[(n >>> 18) & 63] ?? 0
    out[o++] = ALPHABET[(n >>> 12) & 63] ?? 0
    if (rest === 2) out[o++] = ALPHABET[(n >>> 6) & 63] ?? 0
  }
  return out
}

/**
 * Decodes the ASCII bytes of an unpadded base64url string. Returns `undefined` on any
 * character outside the alphabet, an impossible length (4n+1) or non-zero trailing bits
 * (non-canonical encodings are refused so that one secret has exactly one encoding).
 */
export function decodeBase64urlBytes(text: Uint8Array): Uint8Array | undefined {
  if (text.length % 4 === 1) return undefined
  const out = new Uint8Array(Math.floor((text.length * 3) / 4))
  let o = 0
  let acc = 0
  let bits = 0
  let bad = 0
  for (let i = 0; i < text.length; i++) {
    const v = LOOKUP[text[i] ?? 0] ?? -1
    bad |= v
    acc = ((acc << 6) | (v & 63)) & 0xffffff
    bits += 6
    if (bits >= 8) {
      bits -= 8
      out[o++] = (acc >>> bits) & 0xff
    }
  }
  const trailing = acc & ((1 << bits) - 1)
  acc = 0
  if (bad < 0 || trailing !== 0) {
    out.fill(0)
    return undefined
  }
  return out
}
