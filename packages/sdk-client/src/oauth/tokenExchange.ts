import { AuthorizationServerError, InvalidResponseError } from '../errors.ts'
import { defaultFetch, isRecord, readOAuthError, type FetchLike } from '../internal/http.ts'
import { applyClientAuthentication } from './clientAuthentication.ts'

/** RFC 8693 token exchange grant type. */
const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange'
const ID_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:id_token'
/** Identity Assertion JWT Authorization Grant token type (draft-ietf-oauth-identity-assertion-authz-grant). */
export const ID_JAG_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:id-jag'

/** Options of {@link requestIdJag}. */
export interface RequestIdJagOptions {
  /** The enterprise IdP's token endpoint. */
  readonly tokenEndpoint: string
  /** The user's ID token from the IdP (the subject token). */
  readonly idToken: string
  /** Issuer of the authorization server the ID-JAG is for. */
  readonly audience: string
  /** The MCP server (RFC 8707 resource) the access token will be for. */
  readonly resource: string
  readonly scope?: string
  /** This client at the IdP: `client_id` (public) or `client_secret_basic` with `clientSecret`. */
  readonly clientId?: string
  readonly clientSecret?: string
  readonly fetch?: FetchLike
}

/**
 * Enterprise-managed authorization (MCP extension, SEP-990), step 1: exchanges the user's
 * IdP ID token for an ID-JAG at the IdP (RFC 8693 token exchange, `requested_token_type`
 * `…:id-jag`). Step 2 is {@link JwtBearerAuth} with the ID-JAG as the assertion.
 * Throws `AuthorizationServerError` when the IdP refuses.
 */
export async function requestIdJag(options: RequestIdJagOptions): Promise<string> {
  const fetchImpl = options.fetch ?? defaultFetch
  const headers = new Headers({
    'content-type': 'application/x-www-form-urlencoded',
    accept: 'application/json',
  })
  const body = new URLSearchParams({
    grant_type: TOKEN_EXCHANGE,
    subject_token: options.idToken,
    subject_token_type: ID_TOKEN_TYPE,
    requested_token_type: ID_JAG_TOKEN_TYPE,
    audience: options.audience,
    resource: options.resource,
  })
  if (options.scope !== undefined && options.scope !== '') body.set('scope', options.scope)
  if (options.clientId !== undefined) {
    await applyClientAuthentication(
      options.clientSecret !== undefined
        ? {
            method: 'client_secret_basic',
            clientId: options.clientId,
            clientSecret: options.clientSecret,
          }
        : { method: 'none', clientId: options.clientId },
      headers,
      body,
      options.tokenEndpoint,
      Math.floor(Date.now() / 1000),
    )
  }
  const response = await fetchImpl(options.tokenEndpoint, {
    method: 'POST',
    headers,
    body: body.toString(),
  })
  if (!response.ok) {
    const { error, errorDescription } = await readOAuthError(response)
    throw new AuthorizationServerError(
      response.status,
      error ?? 'invalid_response',
      errorDescription,
    )
  }
  const json: unknown = await response.json().catch(() => undefined)
  if (!isRecord(json) || typeof json.access_token !== 'string' || json.access_token === '') {
    throw new InvalidResponseError('Token exchange response has no access_token')
  }
  if (json.issued_token_type !== ID_JAG_TOKEN_TYPE) {
    throw new InvalidResponseError('Token exchange response is not an ID-JAG')
  }
  return json.access_token
}
