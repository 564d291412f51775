/**
 * Local errors of the client SDK (STYLE.md §4): one class per failure a caller can act on,
 * each with a stable `code` from the closed union {@link DAuthClientErrorCode}. Messages
 * never contain a token, a secret or a private key.
 */

/** Every code an SDK error can carry, documented in README.md ("Errors"). */
export const DAUTH_CLIENT_ERROR_CODES = [
  'ERR_DISCOVERY_FAILED',
  'ERR_RESOURCE_MISMATCH',
  'ERR_ISSUER_MISMATCH',
  'ERR_AS_ERROR',
  'ERR_AUTHORIZATION_RESPONSE',
  'ERR_INSUFFICIENT_SCOPE',
  'ERR_UNAUTHORIZED',
  'ERR_ATTESTATION_REFUSED',
  'ERR_HTTP_STATUS',
  'ERR_INVALID_RESPONSE',
  'ERR_CONFIGURATION',
  'ERR_MCP_REQUEST',
] as const

/** The closed union of SDK error codes. */
export type DAuthClientErrorCode = (typeof DAUTH_CLIENT_ERROR_CODES)[number]

/**
 * Base class of every error thrown by `@dauth/sdk-client`.
 *
 * @example
 * ```ts
 * try { await client.callTool('echo', { text: 'hi' }) }
 * catch (e) { if (e instanceof DAuthClientError && e.code === 'ERR_INSUFFICIENT_SCOPE') … }
 * ```
 */
export class DAuthClientError extends Error {
  /** Stable machine-readable code. */
  readonly code: DAuthClientErrorCode
  constructor(code: DAuthClientErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = new.target.name
    this.code = code
  }
}

/**
 * Protected resource metadata (RFC 9728) or authorization server metadata (RFC 8414 / OIDC
 * discovery) could not be found or was invalid. `attempted` lists the URLs tried, in order.
 */
export class DiscoveryError extends DAuthClientError {
  /** URLs fetched, in the order they were tried. */
  readonly attempted: readonly string[]
  /** `true` when every URL answered but none had the metadata (nothing is published there). */
  readonly notFound: boolean
  constructor(
    message: string,
    attempted: readonly string[],
    options?: { cause?: unknown; notFound?: boolean },
  ) {
    super(
      'ERR_DISCOVERY_FAILED',
      message,
      options?.cause !== undefined ? { cause: options.cause } : undefined,
    )
    this.attempted = attempted
    this.notFound = options?.notFound ?? false
  }
}

/** The `resource` in the protected resource metadata is not the server the client talks to (RFC 9728 §3.3). */
export class ResourceMismatchError extends DAuthClientError {
  readonly expected: string
  readonly received: string
  constructor(expected: string, received: string) {
    super(
      'ERR_RESOURCE_MISMATCH',
      `Protected resource metadata names resource ${received}, expected ${expected}`,
    )
    this.expected = expected
    this.received = received
  }
}

/** The AS metadata `issuer` differs from the issuer it was fetched for (RFC 8414 §3.3). */
export class IssuerMismatchError extends DAuthClientError {
  readonly expected: string
  readonly received: string
  constructor(expected: string, received: string) {
    super(
      'ERR_ISSUER_MISMATCH',
      `Authorization server metadata names issuer ${received}, expected ${expected}`,
    )
    this.expected = expected
    this.received = received
  }
}

/**
 * The authorization server answered a token or registration request with an OAuth error
 * (RFC 6749 §5.2, RFC 7591 §3.2.2). `error` is the OAuth `error` code.
 */
export class AuthorizationServerError extends DAuthClientError {
  /** OAuth `error` (e.g. `invalid_client`, `invalid_grant`, `invalid_scope`). */
  readonly error: string
  /** OAuth `error_description`, if the AS sent one. */
  readonly errorDescription: string | undefined
  /** HTTP status of the AS response. */
  readonly status: number
  constructor(status: number, error: string, errorDescription?: string) {
    super(
      'ERR_AS_ERROR',
      `Authorization server error ${error} (HTTP ${status})${errorDescription ? `: ${errorDescription}` : ''}`,
    )
    this.status = status
    this.error = error
    this.errorDescription = errorDescription
  }
}

/** Why an authorization response (the redirect back to the client) was refused. */
export type AuthorizationResponseReason =
  | 'state_mismatch'
  | 'iss_mismatch'
  | 'iss_missing'
  | 'code_missing'
  | 'error_response'

/**
 * The authorization response was refused: wrong `state`, wrong or missing `iss` (RFC 9207),
 * no `code`, or the AS returned an `error` (then `error` holds it).
 */
export class AuthorizationResponseError extends DAuthClientError {
  readonly reason: AuthorizationResponseReason
  /** OAuth `error` from the redirect, when `reason` is `error_response`. */
  readonly error: string | undefined
  constructor(reason: AuthorizationResponseReason, error?: string) {
    super(
      'ERR_AUTHORIZATION_RESPONSE',
      `Authorization response refused: ${reason}${error ? ` (${error})` : ''}`,
    )
    this.reason = reason
    this.error = error
  }
}

/** The resource still answered 403 `insufficient_scope` after the bounded step-up retries. */
export class InsufficientScopeError extends DAuthClientError {
  /** Scopes the server asked for in its last challenge (may be empty). */
  readonly requiredScopes: readonly string[]
  constructor(requiredScopes: readonly string[], message?: string) {
    super(
      'ERR_INSUFFICIENT_SCOPE',
      message ?? `Insufficient scope after step-up; required: ${requiredScopes.join(' ')}`,
    )
    this.requiredScopes = requiredScopes
  }
}

/** The resource answered 401 and the configured auth could not obtain an acceptable token. */
export class UnauthorizedError extends DAuthClientError {
  /** The OAuth `error` of the last `WWW-Authenticate` challenge, if any. */
  readonly error: string | undefined
  constructor(message: string, error?: string) {
    super('ERR_UNAUTHORIZED', message)
    this.error = error
  }
}

/**
 * The enclave attestation was refused, so nothing was sealed or uploaded.
 * `attestationCode` is the `AttestationError` code from `@dauth/protocol`
 * (or `ERR_ATTESTATION_MALFORMED` when the response was not an attestation at all).
 */
export class AttestationRefusedError extends DAuthClientError {
  readonly attestationCode: string
  constructor(attestationCode: string, options?: { cause?: unknown }) {
    super('ERR_ATTESTATION_REFUSED', `Enclave attestation refused: ${attestationCode}`, options)
    this.attestationCode = attestationCode
  }
}

/** A DAuth endpoint (vault, attestation) answered with an unexpected HTTP status. */
export class HttpStatusError extends DAuthClientError {
  readonly status: number
  /** OAuth-style `error` from the JSON body, if present. */
  readonly error: string | undefined
  constructor(what: string, status: number, error?: string) {
    super('ERR_HTTP_STATUS', `${what} failed with HTTP ${status}${error ? ` (${error})` : ''}`)
    this.status = status
    this.error = error
  }
}

/** A response body did not have the shape the specification requires. */
export class InvalidResponseError extends DAuthClientError {
  constructor(message: string) {
    super('ERR_INVALID_RESPONSE', message)
  }
}

/** The SDK was configured inconsistently (missing issuer, missing client credentials, …). */
export class ConfigurationError extends DAuthClientError {
  constructor(message: string) {
    super('ERR_CONFIGURATION', message)
  }
}

/** The MCP server answered a request with a JSON-RPC error (stateless 2026-07-28 transport). */
export class McpRequestError extends DAuthClientError {
  /** The request's method, e.g. `tools/call`. */
  readonly method: string
  /** JSON-RPC error code (e.g. `-32602`, `-32022`). */
  readonly rpcCode: number
  readonly data: unknown
  constructor(method: string, rpcCode: number, message: string, data?: unknown) {
    super('ERR_MCP_REQUEST', `${method} failed with JSON-RPC error ${rpcCode}: ${message}`)
    this.method = method
    this.rpcCode = rpcCode
    this.data = data
  }
}
