/** The only envelope algorithm: libsodium sealed box (X25519, XSalsa20-Poly1305). */
export const ENVELOPE_ALG = 'x25519-xsalsa20poly1305-sealedbox'

/**
 * Outer credential envelope (ARCHITECTURE.md §2), what the AS stores.
 *
 * @example
 * ```json
 * { "v": 1, "kid": "box-2026-01", "alg": "x25519-xsalsa20poly1305-sealedbox", "ct": "…" }
 * ```
 */
export interface CredentialEnvelope {
  /** Format version, always 1. */
  v: 1
  /** Enclave box key id (from the attestation document). */
  kid: string
  /** Always {@link ENVELOPE_ALG}. */
  alg: typeof ENVELOPE_ALG
  /** base64url of the sealed box `epk ‖ tag ‖ ciphertext`. */
  ct: string
}

/** How the enclave injects the credential into the upstream request. */
export type CredentialInjection =
  | { type: 'bearer' }
  | { type: 'header'; name: string; template: string }
  | { type: 'basic'; username: string }
  | { type: 'query'; name: string }

/**
 * Everything in the sealed plaintext except the secret: the binding the enclave checks
 * against the stored connection (a sealed box has no associated data).
 */
export interface CredentialBinding {
  /** Plaintext format version, always 1. */
  v: 1
  /** The connection this credential was uploaded for. */
  connection_id: string
  /** The single-use upload nonce the AS issued with the connection. */
  upload_nonce: string
  /** The owner (AS issuer and subject) of the connection. */
  owner: { iss: string; sub: string }
  /** Provider name, `^[a-z0-9][a-z0-9._-]{0,62}$`. */
  provider: string
  /** Hosts the enclave may send this credential to (non-empty; the first is the default). */
  allowed_hosts: string[]
  /** Injection method. */
  inject: CredentialInjection
}

/** The sealed plaintext (ARCHITECTURE.md §2): the binding plus the secret as base64url. */
export interface CredentialPlaintext extends CredentialBinding {
  /** base64url of the credential's bytes. */
  secret: string
}
