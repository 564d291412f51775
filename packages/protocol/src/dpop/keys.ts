import { jwkThumbprintSync } from './thumbprint.ts'

/** A DPoP key: a non-extractable WebCrypto private key and its public JWK + thumbprint. */
export interface DpopKeyPair {
  /** Non-extractable WebCrypto signing key. */
  privateKey: CryptoKey
  /** Public JWK with only the public members (`kty`, `crv`, `x`, `y`). */
  publicJwk: JsonWebKey
  /** RFC 7638 SHA-256 thumbprint of `publicJwk` (the token's `cnf.jkt`). */
  jkt: string
  /** JWS algorithm of the proofs. */
  alg: 'ES256' | 'EdDSA'
}

/**
 * Generates a DPoP key pair with WebCrypto. The private key is non-extractable.
 *
 * @example
 * ```ts
 * const key = await generateDpopKeyPair()          // ES256
 * const ed = await generateDpopKeyPair('EdDSA')    // Ed25519
 * ```
 */
export async function generateDpopKeyPair(alg: 'ES256' | 'EdDSA' = 'ES256'): Promise<DpopKeyPair> {
  const params: EcKeyGenParams | Algorithm =
    alg === 'ES256'
      ? { name: 'ECDSA', namedCurve: 'P-256' }
      : alg === 'EdDSA'
        ? { name: 'Ed25519' }
        : invalid()
  const pair = (await crypto.subtle.generateKey(params, false, ['sign', 'verify'])) as CryptoKeyPair
  const exported = await crypto.subtle.exportKey('jwk', pair.publicKey)
  const publicJwk: JsonWebKey =
    alg === 'ES256'
      ? { kty: 'EC', crv: 'P-256', x: exported.x ?? '', y: exported.y ?? '' }
      : { kty: 'OKP', crv: 'Ed25519', x: exported.x ?? '' }
  const jkt = jwkThumbprintSync(publicJwk)
  if (jkt === undefined) throw new Error('Unexpected public key export')
  return { privateKey: pair.privateKey, publicJwk, jkt, alg }
}

function invalid(): never {
  throw new TypeError('Unsupported DPoP algorithm')
}
