import { KeyObject, sign as cryptoSign } from 'node:crypto'
import { base64url } from '../encoding/base64url.ts'
import { ATTESTATION_TYP, type AttestationDocument } from './types.ts'

const encoder = new TextEncoder()

/**
 * Signs an attestation document as a compact JWS with header
 * `{alg: 'EdDSA', typ: 'dauth-attestation+jwt', kid}` using the platform Ed25519 key
 * (a WebCrypto `CryptoKey` or a node:crypto `KeyObject`).
 *
 * @example
 * ```ts
 * const jws = await signAttestation(
 *   { v: 1, measurement, enclave_pk, kid: boxKid, nonce, iat: now, debug: false },
 *   { privateKey: platformKey, kid: platformJkt },
 * )
 * ```
 */
export async function signAttestation(
  doc: AttestationDocument,
  platformKey: { privateKey: CryptoKey | KeyObject; kid: string },
): Promise<string> {
  const header = { alg: 'EdDSA', typ: ATTESTATION_TYP, kid: platformKey.kid }
  const payload = {
    v: doc.v,
    measurement: doc.measurement,
    enclave_pk: doc.enclave_pk,
    kid: doc.kid,
    nonce: doc.nonce,
    iat: doc.iat,
    debug: doc.debug,
  }
  const signingInput = `${base64url.encode(encoder.encode(JSON.stringify(header)))}.${base64url.encode(encoder.encode(JSON.stringify(payload)))}`
  const data = encoder.encode(signingInput)
  const signature =
    platformKey.privateKey instanceof KeyObject
      ? new Uint8Array(cryptoSign(null, data, platformKey.privateKey))
      : new Uint8Array(await crypto.subtle.sign({ name: 'Ed25519' }, platformKey.privateKey, data))
  return `${signingInput}.${base64url.encode(signature)}`
}
