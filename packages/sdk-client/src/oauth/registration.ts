import { discoverAuthorizationServerMetadata } from '../discovery/authorizationServer.ts'
import { AuthorizationServerError, DiscoveryError, InvalidResponseError } from '../errors.ts'
import { defaultFetch, isRecord, readOAuthError, type FetchLike } from '../internal/http.ts'

/** Client metadata (RFC 7591 §2). Unknown members are sent as given. */
export interface ClientMetadata {
  readonly redirect_uris?: string[]
  readonly token_endpoint_auth_method?: string
  readonly grant_types?: string[]
  readonly response_types?: string[]
  readonly client_name?: string
  readonly scope?: string
  readonly jwks?: { keys: JsonWebKey[] }
  readonly dpop_bound_access_tokens?: boolean
  readonly application_type?: 'native' | 'web'
  readonly [member: string]: unknown
}

/** The registration response (RFC 7591 §3.2.1): the metadata plus `client_id` and maybe a secret. */
export interface RegisteredClient extends ClientMetadata {
  readonly client_id: string
  readonly client_secret?: string
  readonly client_id_issued_at?: number
  readonly client_secret_expires_at?: number
  readonly registration_access_token?: string
  readonly registration_client_uri?: string
}

/** Options of {@link registerClient}. */
export interface RegisterClientOptions {
  /** RFC 7591 §3: initial access token, sent as `Authorization: Bearer`. */
  readonly initialAccessToken?: string
  /** Skip discovery and register here. */
  readonly registrationEndpoint?: string
  readonly fetch?: FetchLike
}

/**
 * Dynamic client registration (RFC 7591): discovers the AS's `registration_endpoint` and
 * POSTs `metadata`. Throws {@link AuthorizationServerError} with the RFC 7591 §3.2.2 error
 * (`invalid_client_metadata`, `invalid_redirect_uri`, …) when refused.
 *
 * @example
 * ```ts
 * const client = await registerClient('http://localhost:4000', {
 *   grant_types: ['client_credentials'], response_types: [],
 *   token_endpoint_auth_method: 'client_secret_basic', dpop_bound_access_tokens: true,
 * })
 * client.client_id; client.client_secret
 * ```
 */
export async function registerClient(
  issuer: string,
  metadata: ClientMetadata,
  options: RegisterClientOptions = {},
): Promise<RegisteredClient> {
  const fetchImpl = options.fetch ?? defaultFetch
  let endpoint = options.registrationEndpoint
  if (endpoint === undefined) {
    const as = await discoverAuthorizationServerMetadata(issuer, { fetch: fetchImpl })
    if (typeof as.registration_endpoint !== 'string') {
      throw new DiscoveryError(`Authorization server ${issuer} has no registration_endpoint`, [])
    }
    endpoint = as.registration_endpoint
  }
  const headers = new Headers({ 'content-type': 'application/json', accept: 'application/json' })
  if (options.initialAccessToken !== undefined) {
    headers.set('authorization', `Bearer ${options.initialAccessToken}`)
  }
  const response = await fetchImpl(endpoint, {
    method: 'POST',
    headers,
    body: JSON.stringify(metadata),
  })
  if (!response.ok) {
    const { error, errorDescription } = await readOAuthError(response)
    throw new AuthorizationServerError(
      response.status,
      error ?? 'invalid_response',
      errorDescription,
    )
  }
  const body: unknown = await response.json().catch(() => undefined)
  if (!isRecord(body) || typeof body.client_id !== 'string') {
    throw new InvalidResponseError('Registration response has no client_id')
  }
  return body as RegisteredClient
}
