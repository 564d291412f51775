import { createHash, randomBytes } from 'node:crypto'
import { base64url } from '../encoding/base64url.ts'
import { normalizeHtu } from './htu.ts'
import type { DpopKeyPair } from './keys.ts'

const encoder = new TextEncoder()

/** `ath` (RFC 9449 §4.2): base64url(SHA-256(ASCII access token)). */
export function accessTokenHash(accessToken: string): string {
  return createHash('sha256').update(accessToken, 'utf8').digest('base64url')
}

/** Claims of a DPoP proof to create. */
export interface DpopProofClaims {
  /** HTTP method of the request, e.g. `POST`. */
  htm: string
  /** Target URI of the request (normalised with {@link normalizeHtu}). */
  htu: string
  /** Access token sent with the request: adds `ath`. */
  accessToken?: string | undefined
  /** Server-provided nonce (`DPoP-Nonce`). */
  nonce?: string | undefined
  /** Issued-at, seconds (default: now). */
  iat?: number | undefined
  /** Unique id (default: 128 random bits, base64url). */
  jti?: string | undefined
}

/**
 * Creates a DPoP proof JWT (RFC 9449 §4.2): header `{typ:'dpop+jwt', alg, jwk}`, payload
 * `{jti, htm, htu, iat, ath?, nonce?}`, signed with the non-extractable private key.
 *
 * @example
 * ```ts
 * const proof = await createDpopProof(key, { htm: 'POST', htu: 'http://localhost:4100/mcp', accessToken })
 * await fetch(url, { headers: { authorization: `DPoP ${accessToken}`, dpop: proof } })
 * ```
 */
export async function createDpopProof(key: DpopKeyPair, claims: DpopProofClaims): Promise<string> {
  const header = { typ: 'dpop+jwt', alg: key.alg, jwk: key.publicJwk }
  const payload: Record<string, unknown> = {
    jti: claims.jti ?? randomBytes(16).toString('base64url'),
    htm: claims.htm,
    htu: normalizeHtu(claims.htu),
    iat: claims.iat ?? Math.floor(Date.now() / 1000),
  }
  if (claims.accessToken !== undefined) payload.ath = accessTokenHash(claims.accessToken)
  if (claims.nonce !== undefined) payload.nonce = claims.nonce
  const signingInput = `${base64url.encode(encoder.encode(JSON.stringify(header)))}.${base64url.encode(encoder.encode(JSON.stringify(payload)))}`
  const algorithm: EcdsaParams | Algorithm =
    key.alg === 'ES256' ? { name: 'ECDSA', hash: 'SHA-256' } : { name: 'Ed25519' }
  // WebCrypto ECDSA signatures are already the JWS r ‖ s form (RFC 7518 §3.4).
  const signature = await crypto.subtle.sign(
    algorithm,
    key.privateKey,
    encoder.encode(signingInput),
  )
  return `${signingInput}.${base64url.encode(new Uint8Array(signature))}`
}
