import { base64url } from '../encoding/base64url.ts'
import { EnvelopeError, SealedBoxError } from '../errors.ts'
import { sealBox } from '../sealedBox/native.ts'
import { encodePlaintext } from './plaintext.ts'
import { type CredentialBinding, type CredentialEnvelope, ENVELOPE_ALG } from './types.ts'
import { parseCredentialBinding } from './validate.ts'

/**
 * Seals a credential for the enclave (ARCHITECTURE.md §2): the JSON plaintext
 * `{…binding, "secret": "<base64url of secret>"}` in a sealed box to `recipient.publicKey`.
 * The binding is validated first (an {@link EnvelopeError} if the enclave would refuse it);
 * the plaintext bytes are zeroed after sealing. The caller still owns — and should zero —
 * `secret`.
 *
 * @example
 * ```ts
 * const envelope = sealCredential(binding, new TextEncoder().encode(token),
 *   { kid: doc.kid, publicKey: enclavePublicKey })
 * ```
 */
export function sealCredential(
  binding: CredentialBinding,
  secret: Uint8Array,
  recipient: { kid: string; publicKey: Uint8Array },
): CredentialEnvelope {
  const clean = parseCredentialBinding(binding)
  if (!(secret instanceof Uint8Array) || secret.length === 0) throw new EnvelopeError()
  if (typeof recipient?.kid !== 'string' || !/^[\x21-\x7e]{1,128}$/.test(recipient.kid))
    throw new EnvelopeError()
  const plaintext = encodePlaintext(clean, secret)
  try {
    const ct = sealBox(plaintext, recipient.publicKey)
    return { v: 1, kid: recipient.kid, alg: ENVELOPE_ALG, ct: base64url.encode(ct) }
  } catch (error) {
    if (error instanceof SealedBoxError) throw new EnvelopeError()
    throw error
  } finally {
    plaintext.fill(0)
  }
}
