import type { OAuthClientProvider } from '@modelcontextprotocol/sdk/client/auth.js'
import type { OAuthClientMetadata, OAuthTokens } from '@modelcontextprotocol/sdk/shared/auth.js'
import type { ClientAuth } from '../auth/types.ts'
import { ConfigurationError, UnauthorizedError } from '../errors.ts'

/**
 * Adapts a {@link ClientAuth} that yields **bearer** tokens to the official SDK's
 * `OAuthClientProvider` (for `StreamableHTTPClientTransport({ authProvider })`). The SDK
 * only sends `Authorization: Bearer`; for DPoP-bound tokens pass `fetch: authFetch(auth)`
 * instead (this adapter refuses them rather than send a DPoP token as Bearer).
 *
 * @example
 * ```ts
 * const transport = new StreamableHTTPClientTransport(url, { authProvider: toOAuthClientProvider(auth) })
 * ```
 */
export function toOAuthClientProvider(auth: ClientAuth): OAuthClientProvider {
  const metadata: OAuthClientMetadata = { redirect_uris: [] }
  return {
    get redirectUrl() {
      return undefined
    },
    get clientMetadata() {
      return metadata
    },
    clientInformation: () => undefined,
    async tokens(): Promise<OAuthTokens | undefined> {
      const token = await auth.getAccessToken()
      if (token === undefined) return undefined
      if (token.type === 'DPoP') {
        throw new ConfigurationError(
          'DPoP-bound tokens cannot be sent by authProvider; use authFetch(auth)',
        )
      }
      return { access_token: token.value, token_type: 'Bearer' }
    },
    saveTokens: () => undefined,
    redirectToAuthorization: () => {
      throw new UnauthorizedError('The configured auth cannot obtain a token interactively here')
    },
    saveCodeVerifier: () => undefined,
    codeVerifier: () => {
      throw new ConfigurationError('This provider does not run the authorization code flow')
    },
    async invalidateCredentials(scope) {
      if (scope === 'all' || scope === 'tokens') await auth.invalidate()
    },
  }
}
