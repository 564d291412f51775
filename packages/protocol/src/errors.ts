/**
 * Local errors of `@dauth/protocol`. Every class carries a stable `code` from a closed union
 * (STYLE.md §4, after jose's `ERR_JWT_EXPIRED`), so that callers branch on `code`, never on
 * `message`. Messages are generic and never contain key material, plaintext or tokens.
 *
 * @module
 */

/**
 * Base class of every error thrown by `@dauth/protocol`.
 *
 * @example
 * ```ts
 * try { openSealedBox(ct, keyPair) } catch (error) {
 *   if (error instanceof DAuthError) console.log(error.code) // 'ERR_SEALED_BOX_OPEN'
 * }
 * ```
 */
export class DAuthError extends Error {
  /** Stable machine-readable code, e.g. `ERR_DPOP_REPLAY`. */
  readonly code: string

  /**
   * @param code - stable code of the failure
   * @param message - a generic, secret-free human message
   */
  constructor(code: string, message: string) {
    super(message)
    this.name = new.target.name
    this.code = code
  }
}

/** Codes of {@link SealedBoxError}. */
export type SealedBoxErrorCode = 'ERR_SEALED_BOX_OPEN' | 'ERR_SEALED_BOX_KEY'

/**
 * A sealed box could not be opened (`ERR_SEALED_BOX_OPEN`: any reason at all — short input,
 * tampered bytes, wrong key; deliberately without detail) or a key has the wrong size
 * (`ERR_SEALED_BOX_KEY`).
 *
 * @example
 * ```ts
 * assert.throws(() => openSealedBox(new Uint8Array(0), kp), { code: 'ERR_SEALED_BOX_OPEN' })
 * ```
 */
export class SealedBoxError extends DAuthError {
  declare readonly code: SealedBoxErrorCode
  /** @param code - defaults to `ERR_SEALED_BOX_OPEN` */
  constructor(code: SealedBoxErrorCode = 'ERR_SEALED_BOX_OPEN') {
    super(
      code,
      code === 'ERR_SEALED_BOX_OPEN' ? 'Sealed box could not be opened' : 'Invalid box key',
    )
  }
}

/** Codes of {@link EnvelopeError}. */
export type EnvelopeErrorCode = 'ERR_ENVELOPE_INVALID'

/**
 * A credential envelope or its plaintext is invalid. One code and one message for every
 * cause (unknown kid, bad shape, failed decryption, bad plaintext), so the error is no oracle.
 *
 * @example
 * ```ts
 * assert.throws(() => parseCredentialEnvelope({}), { code: 'ERR_ENVELOPE_INVALID' })
 * ```
 */
export class EnvelopeError extends DAuthError {
  declare readonly code: EnvelopeErrorCode
  constructor() {
    super('ERR_ENVELOPE_INVALID', 'Invalid credential envelope')
  }
}

/** Codes of {@link DpopProofError}: one per check of RFC 9449 §4.3. */
export type DpopProofErrorCode =
  | 'ERR_DPOP_MALFORMED'
  | 'ERR_DPOP_TYP'
  | 'ERR_DPOP_ALG'
  | 'ERR_DPOP_JWK'
  | 'ERR_DPOP_SIGNATURE'
  | 'ERR_DPOP_HTM'
  | 'ERR_DPOP_HTU'
  | 'ERR_DPOP_ATH'
  | 'ERR_DPOP_IAT'
  | 'ERR_DPOP_REPLAY'
  | 'ERR_DPOP_NONCE'
  | 'ERR_DPOP_JKT_MISMATCH'

const DPOP_MESSAGES: Record<DpopProofErrorCode, string> = {
  ERR_DPOP_MALFORMED: 'DPoP proof is malformed',
  ERR_DPOP_TYP: 'DPoP proof typ is not dpop+jwt',
  ERR_DPOP_ALG: 'DPoP proof algorithm is not allowed',
  ERR_DPOP_JWK: 'DPoP proof jwk is not an acceptable public key',
  ERR_DPOP_SIGNATURE: 'DPoP proof signature is invalid',
  ERR_DPOP_HTM: 'DPoP proof htm does not match the request method',
  ERR_DPOP_HTU: 'DPoP proof htu does not match the request URI',
  ERR_DPOP_ATH: 'DPoP proof ath does not match the access token',
  ERR_DPOP_IAT: 'DPoP proof iat is outside the acceptable window',
  ERR_DPOP_REPLAY: 'DPoP proof jti has already been used',
  ERR_DPOP_NONCE: 'DPoP proof nonce is missing or invalid',
  ERR_DPOP_JKT_MISMATCH: 'DPoP proof key does not match the bound key',
}

/**
 * A DPoP proof (RFC 9449) was rejected. `code` names the failed check; map it to the wire
 * error `invalid_dpop_proof` (or `use_dpop_nonce` for `ERR_DPOP_NONCE`).
 *
 * @example
 * ```ts
 * await assert.rejects(verifyDpopProof(proof, { htm: 'GET', htu }), { code: 'ERR_DPOP_HTM' })
 * ```
 */
export class DpopProofError extends DAuthError {
  declare readonly code: DpopProofErrorCode
  /** @param code - the failed check */
  constructor(code: DpopProofErrorCode) {
    super(code, DPOP_MESSAGES[code])
  }
}

/** Codes of {@link AttestationError}. */
export type AttestationErrorCode =
  | 'ERR_ATTESTATION_MALFORMED'
  | 'ERR_ATTESTATION_SIGNATURE'
  | 'ERR_ATTESTATION_MEASUREMENT'
  | 'ERR_ATTESTATION_NONCE'
  | 'ERR_ATTESTATION_STALE'
  | 'ERR_ATTESTATION_DEBUG'

const ATTESTATION_MESSAGES: Record<AttestationErrorCode, string> = {
  ERR_ATTESTATION_MALFORMED: 'Attestation document is malformed',
  ERR_ATTESTATION_SIGNATURE: 'Attestation signature is invalid',
  ERR_ATTESTATION_MEASUREMENT: 'Attestation measurement is not allowed',
  ERR_ATTESTATION_NONCE: 'Attestation nonce does not match',
  ERR_ATTESTATION_STALE: 'Attestation is stale or from the future',
  ERR_ATTESTATION_DEBUG: 'Attestation reports a debug enclave',
}

/**
 * An enclave attestation document was rejected; a client must then refuse to seal.
 *
 * @example
 * ```ts
 * await assert.rejects(verifyAttestation(jws, policy), { code: 'ERR_ATTESTATION_NONCE' })
 * ```
 */
export class AttestationError extends DAuthError {
  declare readonly code: AttestationErrorCode
  /** @param code - the failed check */
  constructor(code: AttestationErrorCode) {
    super(code, ATTESTATION_MESSAGES[code])
  }
}

/** Codes of {@link ReplayStoreError}. */
export type ReplayStoreErrorCode = 'ERR_REPLAY_STORE_FULL' | 'ERR_REPLAY_STORE_UNAVAILABLE'

/**
 * A replay store cannot decide (full of unexpired entries, or its backend failed). Callers
 * must fail closed: treat the proof as rejected (`verifyDpopProof` lets this error through).
 *
 * @example
 * ```ts
 * await assert.rejects(store.checkAndStore('k', exp), { code: 'ERR_REPLAY_STORE_FULL' })
 * ```
 */
export class ReplayStoreError extends DAuthError {
  declare readonly code: ReplayStoreErrorCode
  /** @param code - the failure */
  constructor(code: ReplayStoreErrorCode) {
    super(
      code,
      code === 'ERR_REPLAY_STORE_FULL' ? 'Replay store is full' : 'Replay store is unavailable',
    )
  }
}
