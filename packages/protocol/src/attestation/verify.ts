import { type KeyObject, createPublicKey, verify as cryptoVerify } from 'node:crypto'
import { AttestationError, type AttestationErrorCode } from '../errors.ts'
import { ATTESTATION_TYP, type AttestationDocument, type AttestationPolicy } from './types.ts'

const B64URL = /^[A-Za-z0-9_-]+$/
const MAX_JWS_LENGTH = 16 * 1024
const FUTURE_SKEW_SECONDS = 5

function fail(code: AttestationErrorCode): never {
  throw new AttestationError(code)
}

function decodeJson(part: string): Record<string, unknown> {
  if (!B64URL.test(part) || part.length % 4 === 1) fail('ERR_ATTESTATION_MALFORMED')
  let value: unknown
  try {
    value = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'))
  } catch {
    return fail('ERR_ATTESTATION_MALFORMED')
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    fail('ERR_ATTESTATION_MALFORMED')
  return value as Record<string, unknown>
}

function platformKey(jwk: JsonWebKey): KeyObject {
  // Only a public Ed25519 key can be pinned: a JWK with `d` is refused rather than used.
  if (
    jwk?.kty !== 'OKP' ||
    jwk.crv !== 'Ed25519' ||
    typeof jwk.x !== 'string' ||
    jwk.d !== undefined
  ) {
    fail('ERR_ATTESTATION_SIGNATURE')
  }
  try {
    return createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: jwk.x }, format: 'jwk' })
  } catch {
    return fail('ERR_ATTESTATION_SIGNATURE')
  }
}

/**
 * Verifies an enclave attestation document before sealing to its key:
 * compact JWS with `typ` `dauth-attestation+jwt` (`ERR_ATTESTATION_MALFORMED`), `alg`
 * `EdDSA` and a valid Ed25519 signature by the pinned `platformJwk`
 * (`ERR_ATTESTATION_SIGNATURE`), payload shape with `v === 1` and an `enclave_pk` of 32
 * bytes (`ERR_ATTESTATION_MALFORMED`), `debug === false` (`ERR_ATTESTATION_DEBUG`),
 * `measurement` in `measurements` (`ERR_ATTESTATION_MEASUREMENT`), `nonce` exact
 * (`ERR_ATTESTATION_NONCE`), `iat` not older than `maxAgeSeconds` (default 60) nor more than
 * 5 s ahead (`ERR_ATTESTATION_STALE`). Returns the document and the raw enclave key.
 *
 * @example
 * ```ts
 * const { enclavePublicKey, kid } = await verifyAttestation(jws, {
 *   platformJwk: pinned.platform_jwk, measurements: pinned.measurements, nonce,
 * })
 * const envelope = sealCredential(binding, secret, { kid, publicKey: enclavePublicKey })
 * ```
 */
export function verifyAttestation(
  jws: string,
  policy: AttestationPolicy,
): Promise<AttestationDocument & { enclavePublicKey: Uint8Array }> {
  try {
    return Promise.resolve(verifyAttestationSync(jws, policy))
  } catch (error) {
    return Promise.reject(error instanceof Error ? error : new Error(String(error)))
  }
}

function verifyAttestationSync(
  jws: string,
  policy: AttestationPolicy,
): AttestationDocument & { enclavePublicKey: Uint8Array } {
  if (typeof jws !== 'string' || jws.length > MAX_JWS_LENGTH) fail('ERR_ATTESTATION_MALFORMED')
  const parts = jws.split('.')
  if (parts.length !== 3) fail('ERR_ATTESTATION_MALFORMED')
  const [headerPart = '', payloadPart = '', signaturePart = ''] = parts
  const header = decodeJson(headerPart)
  if (header.typ !== ATTESTATION_TYP || Object.hasOwn(header, 'crit'))
    fail('ERR_ATTESTATION_MALFORMED')
  if (header.alg !== 'EdDSA') fail('ERR_ATTESTATION_SIGNATURE')
  if (!B64URL.test(signaturePart)) fail('ERR_ATTESTATION_SIGNATURE')
  const signature = Buffer.from(signaturePart, 'base64url')
  if (signature.length !== 64) fail('ERR_ATTESTATION_SIGNATURE')
  const key = platformKey(policy.platformJwk)
  let valid = false
  try {
    valid = cryptoVerify(null, Buffer.from(`${headerPart}.${payloadPart}`, 'ascii'), key, signature)
  } catch {
    valid = false
  }
  if (!valid) fail('ERR_ATTESTATION_SIGNATURE')

  const p = decodeJson(payloadPart)
  const { v, measurement, enclave_pk, kid, nonce, iat, debug } = p
  if (
    v !== 1 ||
    typeof measurement !== 'string' ||
    typeof enclave_pk !== 'string' ||
    typeof kid !== 'string' ||
    kid.length === 0 ||
    typeof nonce !== 'string' ||
    typeof iat !== 'number' ||
    !Number.isFinite(iat) ||
    typeof debug !== 'boolean'
  ) {
    fail('ERR_ATTESTATION_MALFORMED')
  }
  if (!B64URL.test(enclave_pk) || enclave_pk.length !== 43) fail('ERR_ATTESTATION_MALFORMED')
  const enclavePublicKey = new Uint8Array(Buffer.from(enclave_pk, 'base64url'))
  if (
    enclavePublicKey.length !== 32 ||
    Buffer.from(enclavePublicKey).toString('base64url') !== enclave_pk
  ) {
    fail('ERR_ATTESTATION_MALFORMED')
  }
  if (debug) fail('ERR_ATTESTATION_DEBUG')
  if (!policy.measurements.includes(measurement)) fail('ERR_ATTESTATION_MEASUREMENT')
  if (typeof policy.nonce !== 'string' || nonce !== policy.nonce) fail('ERR_ATTESTATION_NONCE')
  const now = policy.now ?? Math.floor(Date.now() / 1000)
  const maxAge = policy.maxAgeSeconds ?? 60
  if (iat < now - maxAge || iat > now + FUTURE_SKEW_SECONDS) fail('ERR_ATTESTATION_STALE')

  return { v: 1, measurement, enclave_pk, kid, nonce, iat, debug, enclavePublicKey }
}
