/**
 * Wire errors of the enclave (ARCHITECTURE.md §6 "Enclave limits and errors").
 *
 * Every refusal a caller sees is one of these codes with a fixed, public description: the
 * description never depends on the request, the plaintext or an internal exception, so that
 * no answer is an oracle and no message can carry a secret (STYLE.md §4–5).
 */
export type EnclaveErrorCode =
  | 'invalid_token'
  | 'invalid_request'
  | 'handle_unavailable'
  | 'host_not_allowed'
  | 'upstream_unreachable'
  | 'upstream_timeout'
  | 'response_too_large'
  | 'temporarily_unavailable'
  | 'not_found'
  | 'server_error'

export interface EnclaveErrorInfo {
  readonly status: number
  readonly description: string
}

/** The one table that turns a code into a status and public description. */
export const ENCLAVE_ERRORS: Readonly<Record<EnclaveErrorCode, EnclaveErrorInfo>> = {
  invalid_token: { status: 401, description: 'The dispatch token or its DPoP proof is invalid' },
  invalid_request: { status: 400, description: 'The dispatch request is malformed' },
  handle_unavailable: { status: 404, description: 'The connection handle is not available' },
  host_not_allowed: {
    status: 403,
    description: 'The upstream host is not allowed for this connection',
  },
  upstream_unreachable: { status: 502, description: 'The upstream could not be reached' },
  upstream_timeout: { status: 504, description: 'The upstream did not answer in time' },
  response_too_large: { status: 502, description: 'The upstream response is too large' },
  temporarily_unavailable: { status: 503, description: 'The enclave is temporarily unavailable' },
  not_found: { status: 404, description: 'Not found' },
  server_error: { status: 500, description: 'Internal error' },
}

/** `WWW-Authenticate` challenge sent with every `invalid_token` (RFC 9449 §7.1). */
export const DPOP_CHALLENGE = 'DPoP error="invalid_token", algs="ES256 EdDSA"'

export interface WireError {
  status: number
  headers: Record<string, string>
  body: { error: EnclaveErrorCode; error_description: string }
}

/** Builds the exact response for a code: status, JSON body and (for 401) the DPoP challenge. */
export function wireError(code: EnclaveErrorCode): WireError {
  const info = ENCLAVE_ERRORS[code]
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'cache-control': 'no-store',
  }
  if (code === 'invalid_token') headers['www-authenticate'] = DPOP_CHALLENGE
  return {
    status: info.status,
    headers,
    body: { error: code, error_description: info.description },
  }
}

/**
 * A refusal inside the worker pipeline. `detail` is a log-only reason code (never a value
 * taken from the request or the plaintext).
 */
export class DispatchRefusal extends Error {
  readonly code: EnclaveErrorCode
  readonly detail: string
  constructor(code: EnclaveErrorCode, detail: string) {
    super(code)
    this.name = 'DispatchRefusal'
    this.code = code
    this.detail = detail
  }
}
