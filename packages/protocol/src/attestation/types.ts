/** JWS `typ` of an attestation document. */
export const ATTESTATION_TYP = 'dauth-attestation+jwt'

/**
 * Enclave attestation document (ARCHITECTURE.md §3, wire.md "Enclave"): signed by the
 * launcher's platform Ed25519 key as a compact JWS.
 */
export interface AttestationDocument {
  /** Format version, always 1. */
  v: 1
  /** base64url SHA-384 of the worker bundle (see {@link sha384Base64url}). */
  measurement: string
  /** base64url raw X25519 public key to seal credentials to. */
  enclave_pk: string
  /** Box key id of `enclave_pk` (goes into the envelope's `kid`). */
  kid: string
  /** The verifier's nonce, echoed. */
  nonce: string
  /** Issued-at, seconds. */
  iat: number
  /** Always `false` for an enclave a client may trust. */
  debug: boolean
}

/** What a client pins and expects when it verifies an attestation. */
export interface AttestationPolicy {
  /** The pinned platform public key (OKP Ed25519 JWK). */
  platformJwk: JsonWebKey
  /** Allowed measurements (base64url SHA-384). */
  measurements: readonly string[]
  /** The nonce the client sent. */
  nonce: string
  /** Oldest acceptable `iat`, seconds before `now` (default 60). */
  maxAgeSeconds?: number | undefined
  /** Current time in seconds (default: the system clock). */
  now?: number | undefined
}
