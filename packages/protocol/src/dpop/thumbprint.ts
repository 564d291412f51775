import { createHash } from 'node:crypto'

/** The members RFC 7638 §3.2 hashes, per key type, in lexicographic order. */
const REQUIRED_MEMBERS: Record<string, readonly string[]> = {
  EC: ['crv', 'kty', 'x', 'y'],
  OKP: ['crv', 'kty', 'x'],
  RSA: ['e', 'kty', 'n'],
  oct: ['k', 'kty'],
}

/**
 * Synchronous RFC 7638 thumbprint (SHA-256, base64url). Returns `undefined` when the JWK
 * lacks a required member or a member is not a string.
 */
export function jwkThumbprintSync(jwk: JsonWebKey): string | undefined {
  const members = typeof jwk.kty === 'string' ? REQUIRED_MEMBERS[jwk.kty] : undefined
  if (members === undefined) return undefined
  const record = jwk as Record<string, unknown>
  const parts: string[] = []
  for (const name of members) {
    const value = record[name]
    if (typeof value !== 'string' || value.length === 0) return undefined
    parts.push(`${JSON.stringify(name)}:${JSON.stringify(value)}`)
  }
  return createHash('sha256')
    .update(`{${parts.join(',')}}`)
    .digest('base64url')
}

/**
 * JWK SHA-256 thumbprint (RFC 7638), base64url — the `jkt` of DPoP (`cnf.jkt`, RFC 9449 §6).
 * Rejects (TypeError) a JWK without the members its `kty` requires.
 *
 * @example
 * ```ts
 * await calculateJwkThumbprint({ kty: 'EC', crv: 'P-256', x, y }) // 'NzbLsXh8…'
 * ```
 */
export function calculateJwkThumbprint(jwk: JsonWebKey): Promise<string> {
  const thumbprint = jwkThumbprintSync(jwk)
  if (thumbprint === undefined)
    return Promise.reject(new TypeError('JWK lacks members required for a thumbprint'))
  return Promise.resolve(thumbprint)
}
