/**
 * Token claims and protocol constants shared by the AS, the MCP server SDK and the enclave
 * (wire.md "Access tokens", "Token exchange for dispatch").
 */

/**
 * Claims of a DAuth access token (RFC 9068 JWT, `typ: at+jwt`) and of a dispatch token
 * (RFC 8693 token exchange result, with `act`).
 *
 * @example
 * ```ts
 * const claims = payload as AccessTokenClaims
 * if (claims.cnf?.jkt !== proof.jkt) refuse()
 * ```
 */
export interface AccessTokenClaims {
  /** Issuer: the AS. */
  iss: string
  /** Subject: the user (or the client itself for client credentials). */
  sub: string
  /** Audience: the one resource the token is for (RFC 8707). */
  aud: string | string[]
  /** Expiry, seconds. */
  exp: number
  /** Issued at, seconds. */
  iat: number
  /** Token id. */
  jti: string
  /** OAuth client the token was issued to. */
  client_id?: string
  /** Space-delimited scopes. */
  scope?: string
  /** DPoP binding (RFC 9449 §6): thumbprint of the proof key. */
  cnf?: { jkt: string }
  /** Connection name → opaque handle, for the connections this resource may use. */
  connections?: Record<string, string>
  /** Actor (RFC 8693 §4.1): the MCP server client on a dispatch token. */
  act?: { sub: string }
}

/** RFC 8693 grant type of token exchange. */
export const TOKEN_EXCHANGE_GRANT_TYPE = 'urn:ietf:params:oauth:grant-type:token-exchange'
/** RFC 8693 §3 token type identifier of an access token. */
export const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token'
/** RFC 9068 §2.1 JWT `typ` of an access token. */
export const ACCESS_TOKEN_JWT_TYP = 'at+jwt'
/** RFC 9449 §4.2 JWT `typ` of a DPoP proof. */
export const DPOP_PROOF_JWT_TYP = 'dpop+jwt'
/** Scope of the connection vault: read. */
export const SCOPE_CONNECTIONS_READ = 'connections:read'
/** Scope of the connection vault: write. */
export const SCOPE_CONNECTIONS_WRITE = 'connections:write'
/** Scope of the enclave's envelope fetch. */
export const SCOPE_ENVELOPES_READ = 'envelopes:read'
/** Client id of the enclave at the AS. */
export const ENCLAVE_CLIENT_ID = 'dauth-enclave'
