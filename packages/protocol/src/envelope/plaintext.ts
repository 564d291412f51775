/**
 * Plaintext encoding and decoding that keeps the secret out of JS strings: the secret's
 * base64url is written into / read out of the UTF-8 bytes directly, and only the rest of
 * the document (with `"secret":""`) ever goes through JSON.parse / JSON.stringify.
 */
import { decodeBase64urlBytes, encodeBase64urlBytes } from '../encoding/base64urlBytes.ts'
import type { CredentialBinding } from './types.ts'

const QUOTE = 0x22
const BACKSLASH = 0x5c
const encoder = new TextEncoder()

/** Builds the UTF-8 JSON plaintext `{…binding, "secret": "<b64url>"}`. Caller zeroes it. */
export function encodePlaintext(binding: CredentialBinding, secret: Uint8Array): Uint8Array {
  const json = JSON.stringify({
    v: binding.v,
    connection_id: binding.connection_id,
    upload_nonce: binding.upload_nonce,
    owner: { iss: binding.owner.iss, sub: binding.owner.sub },
    provider: binding.provider,
    allowed_hosts: binding.allowed_hosts,
    inject: binding.inject,
  })
  const head = encoder.encode(`${json.slice(0, -1)},"secret":"`)
  const tail = encoder.encode('"}')
  const b64 = encodeBase64urlBytes(secret)
  const out = new Uint8Array(head.length + b64.length + tail.length)
  out.set(head, 0)
  out.set(b64, head.length)
  out.set(tail, head.length + b64.length)
  b64.fill(0)
  return out
}

/** Result of {@link splitPlaintext}: the document with an empty secret, and the secret. */
export interface SplitPlaintext {
  /** UTF-8 JSON with `"secret":""`; caller zeroes it after parsing. */
  redacted: Uint8Array
  /** Decoded secret bytes. */
  secret: Uint8Array
}

/**
 * Finds the one top-level `"secret"` string in UTF-8 JSON bytes, decodes it, and returns the
 * document with that value emptied. Returns `undefined` when the document has no or several
 * top-level `secret` members, duplicate keys in any object, an escaped key, or a secret that
 * is not strict non-empty base64url. Grammar is left to JSON.parse on `redacted`: only bytes
 * strictly inside a string token are removed, which cannot make invalid JSON valid.
 */
export function splitPlaintext(bytes: Uint8Array): SplitPlaintext | undefined {
  const stack: { keys: Set<string> | undefined; expectKey: boolean }[] = []
  let secretStart = -1
  let secretEnd = -1
  let pendingSecret = false
  const n = bytes.length
  let i = 0
  while (i < n) {
    const c = bytes[i]
    if (c === QUOTE) {
      const start = i + 1
      let j = start
      let escaped = false
      while (j < n && bytes[j] !== QUOTE) {
        if (bytes[j] === BACKSLASH) {
          escaped = true
          j++
        }
        j++
      }
      if (j >= n) return undefined
      const top = stack.at(-1)
      if (top?.keys !== undefined && top.expectKey) {
        if (escaped) return undefined
        const key = Buffer.from(bytes.buffer, bytes.byteOffset + start, j - start).toString(
          'latin1',
        )
        if (top.keys.has(key)) return undefined
        top.keys.add(key)
        top.expectKey = false
        if (stack.length === 1 && key === 'secret') pendingSecret = true
      } else if (pendingSecret) {
        if (escaped) return undefined
        secretStart = start
        secretEnd = j
        pendingSecret = false
      }
      i = j + 1
      continue
    }
    if (pendingSecret && c !== 0x3a && c !== 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) {
      // the value of "secret" is not a string
      return undefined
    }
    if (c === 0x7b) stack.push({ keys: new Set(), expectKey: true })
    else if (c === 0x5b) stack.push({ keys: undefined, expectKey: false })
    else if (c === 0x7d || c === 0x5d) {
      if (stack.pop() === undefined) return undefined
    } else if (c === 0x2c) {
      const top = stack.at(-1)
      if (top?.keys !== undefined) top.expectKey = true
    }
    i++
  }
  if (secretStart < 0 || secretEnd === secretStart || stack.length !== 0) return undefined
  const secret = decodeBase64urlBytes(bytes.subarray(secretStart, secretEnd))
  if (secret === undefined) return undefined
  const redacted = new Uint8Array(n - (secretEnd - secretStart))
  redacted.set(bytes.subarray(0, secretStart), 0)
  redacted.set(bytes.subarray(secretEnd), secretStart)
  return { redacted, secret }
}
