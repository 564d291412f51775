import type { DpopKeyPair } from '@dauth/protocol'
import { generateDpopKeyPair } from '@dauth/protocol'
import { DpopNonceCache } from '../dpop/nonces.ts'
import { ConfigurationError } from '../errors.ts'
import type { AccessToken, ClientAuth } from './types.ts'

/**
 * A fixed bearer token (RFC 6750). No refresh, no step-up.
 *
 * @example
 * ```ts
 * const client = await MCPClient.connect(url, { auth: BearerAuth({ accessToken: process.env.TOKEN! }) })
 * ```
 */
export function BearerAuth(options: { accessToken: string }): ClientAuth {
  if (options.accessToken.length === 0) throw new ConfigurationError('accessToken is empty')
  const token: AccessToken = { value: options.accessToken, type: 'Bearer' }
  return staticAuth(() => Promise.resolve(token), undefined)
}

/** Supplies DPoP-bound access tokens; called for every request, so cache inside if needed. */
export type AccessTokenSource = () => Promise<string> | string

/** Options of {@link DPoPAuth}: the key (generated when omitted) and a token or a source of tokens. */
export type DPoPAuthOptions = { key?: DpopKeyPair } & (
  | { accessToken: string; tokenSource?: never }
  | { tokenSource: AccessTokenSource; accessToken?: never }
)

/**
 * A DPoP-bound access token (RFC 9449): a fresh proof per request with `htm`, `htu` and
 * `ath`; on `401 use_dpop_nonce` the request is retried once with the server's nonce, which
 * is remembered per origin.
 *
 * @example
 * ```ts
 * const key = await generateDpopKeyPair()
 * const auth = DPoPAuth({ key, accessToken })   // token bound to key.jkt
 * ```
 */
export function DPoPAuth(options: DPoPAuthOptions): ClientAuth {
  let keyPromise: Promise<DpopKeyPair> | undefined =
    options.key !== undefined ? Promise.resolve(options.key) : undefined
  const getKey = (): Promise<DpopKeyPair> => (keyPromise ??= generateDpopKeyPair('ES256'))
  const source: AccessTokenSource =
    options.tokenSource ??
    ((): string => {
      if (options.accessToken === undefined || options.accessToken.length === 0) {
        throw new ConfigurationError('DPoPAuth needs accessToken or tokenSource')
      }
      return options.accessToken
    })
  return staticAuth(async () => ({ value: await source(), type: 'DPoP' }), getKey)
}

function staticAuth(
  token: () => Promise<AccessToken>,
  key: (() => Promise<DpopKeyPair>) | undefined,
): ClientAuth {
  return {
    nonces: new DpopNonceCache(),
    getAccessToken: token,
    getDpopKey: async () => (key === undefined ? undefined : key()),
    invalidate: () => Promise.resolve(false),
    stepUp: () => Promise.resolve(false),
    needsDiscovery: () => false,
    applyDiscovery: () => Promise.resolve(),
  }
}
