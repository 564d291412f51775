import { base64url } from '../encoding/base64url.ts'
import { EnvelopeError } from '../errors.ts'
import type { BoxKeyPair } from '../sealedBox/types.ts'
import { openSealedBox } from '../sealedBox/native.ts'
import { SecretBytes } from '../secrets/secretBytes.ts'
import { splitPlaintext } from './plaintext.ts'
import type { CredentialBinding, CredentialEnvelope } from './types.ts'
import { parseCredentialBinding, parseCredentialEnvelope } from './validate.ts'

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false })

/**
 * Opens a credential envelope inside the enclave: re-validates the envelope, finds the box
 * key by `kid`, opens the sealed box, and strictly validates the plaintext (exact members,
 * `v === 1`, owner, provider, non-empty `allowed_hosts`, one of the four `inject` shapes,
 * strict base64url `secret`). The secret is decoded straight from the plaintext bytes into
 * a {@link SecretBytes} (never a JS string); the plaintext buffers are zeroed before return.
 *
 * Every failure — unknown kid, bad shape, failed decryption, bad plaintext — throws the same
 * {@link EnvelopeError} `ERR_ENVELOPE_INVALID`. The caller must still compare the binding
 * with the stored connection (connection_id, owner, upload_nonce).
 *
 * @example
 * ```ts
 * const { binding, secret } = openCredentialEnvelope(envelope, (kid) => keys.get(kid))
 * try { secret.use((bytes) => inject(bytes)) } finally { secret.zeroize() }
 * ```
 */
export function openCredentialEnvelope(
  envelope: CredentialEnvelope,
  keyForKid: (kid: string) => BoxKeyPair | undefined,
): { binding: CredentialBinding; secret: SecretBytes } {
  const checked = parseCredentialEnvelope(envelope)
  let plaintext: Uint8Array | undefined
  let redacted: Uint8Array | undefined
  let secret: Uint8Array | undefined
  try {
    const keyPair = keyForKid(checked.kid)
    if (keyPair === undefined) throw new EnvelopeError()
    plaintext = openSealedBox(base64url.decode(checked.ct), keyPair)
    const split = splitPlaintext(plaintext)
    if (split === undefined) throw new EnvelopeError()
    redacted = split.redacted
    secret = split.secret
    const document: unknown = JSON.parse(utf8.decode(redacted))
    if (
      typeof document !== 'object' ||
      document === null ||
      (document as { secret?: unknown }).secret !== ''
    ) {
      throw new EnvelopeError()
    }
    const binding = parseCredentialBinding(document, ['secret'])
    const holder = new SecretBytes(secret)
    secret = undefined
    return { binding, secret: holder }
  } catch {
    // one answer for every cause: no oracle on why an envelope failed
    throw new EnvelopeError()
  } finally {
    plaintext?.fill(0)
    redacted?.fill(0)
    secret?.fill(0)
  }
}
