import Provider from 'oidc-provider'
import { loadSigningKeys } from './keys.ts'
import { createOidcAdapterFactory } from './storage/oidcAdapter.ts'
import type { Storage } from './storage/types.ts'

/**
 * Issues an RFC 7591 initial access token (needed for dynamic registration when
 * `DAUTH_DEV` is not set). Stored through the same storage the AS uses; returns the
 * token value, shown once.
 */
export async function issueInitialAccessToken(
  storage: Storage,
  issuer: string,
  expiresIn = 86400,
): Promise<string> {
  const keys = await loadSigningKeys(storage.meta)
  const provider = new Provider(issuer, {
    adapter: createOidcAdapterFactory(storage.oidc),
    jwks: keys.privateJwks,
    clientDefaults: { id_token_signed_response_alg: 'ES256' },
    features: {
      devInteractions: { enabled: false },
      registration: { enabled: true, initialAccessToken: true },
    },
  })
  return new provider.InitialAccessToken({ expiresIn }).save()
}
