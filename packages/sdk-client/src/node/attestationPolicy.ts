import { readFile } from 'node:fs/promises'
import type { AttestationTrust } from '../connections/connections.ts'
import { ConfigurationError } from '../errors.ts'

/**
 * Reads the attestation pins from `.dauth/attestation.json`
 * (`{"platform_jwk": {…}, "measurements": ["…"]}`, ARCHITECTURE.md §6).
 *
 * @example
 * ```ts
 * const attestation = await loadAttestationPolicy('.dauth/attestation.json')
 * new DAuthConnections({ issuer, auth, attestation })
 * ```
 */
export async function loadAttestationPolicy(path: string): Promise<AttestationTrust> {
  let parsed: unknown
  try {
    parsed = JSON.parse(await readFile(path, 'utf8'))
  } catch {
    throw new ConfigurationError(`Cannot read an attestation policy from ${path}`)
  }
  if (typeof parsed !== 'object' || parsed === null) {
    throw new ConfigurationError(`${path} is not a JSON object`)
  }
  const { platform_jwk: platformJwk, measurements } = parsed as Record<string, unknown>
  if (
    typeof platformJwk !== 'object' ||
    platformJwk === null ||
    (platformJwk as JsonWebKey).kty !== 'OKP' ||
    (platformJwk as JsonWebKey).crv !== 'Ed25519' ||
    'd' in platformJwk
  ) {
    throw new ConfigurationError(`${path}: platform_jwk must be a public Ed25519 JWK`)
  }
  if (
    !Array.isArray(measurements) ||
    measurements.length === 0 ||
    !measurements.every((m): m is string => typeof m === 'string' && m.length > 0)
  ) {
    throw new ConfigurationError(`${path}: measurements must be a non-empty array of strings`)
  }
  return { platformJwk: platformJwk, measurements }
}
