const BASE64URL = /^[A-Za-z0-9_-]*$/

/**
 * Unpadded base64url (RFC 4648 §5), the form of every JOSE and envelope binary field.
 * `decode` is strict: it throws a `TypeError` on padding, on any character outside the
 * base64url alphabet and on an impossible length (4n+1), instead of skipping them silently.
 *
 * @example
 * ```ts
 * base64url.encode(new Uint8Array([251, 255])) // '-_8'
 * base64url.decode('-_8') // Uint8Array [251, 255]
 * ```
 */
export const base64url = {
  /** Encodes bytes as unpadded base64url. */
  encode(bytes: Uint8Array): string {
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64url')
  },
  /** Decodes unpadded base64url; throws `TypeError` on anything else. */
  decode(text: string): Uint8Array {
    if (typeof text !== 'string' || text.length % 4 === 1 || !BASE64URL.test(text)) {
      throw new TypeError('Invalid base64url')
    }
    return new Uint8Array(Buffer.from(text, 'base64url'))
  },
}

/** True when `text` is a non-empty, strictly well-formed unpadded base64url string. */
export function isBase64url(text: unknown): text is string {
  return (
    typeof text === 'string' && text.length > 0 && text.length % 4 !== 1 && BASE64URL.test(text)
  )
}
