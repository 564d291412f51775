/**
 * Local errors of `@dauth/mcp-server`. Each class carries a stable `code` from a closed union
 * (STYLE.md §4); messages are generic and never contain a token, a secret or a key.
 *
 * @module
 */

/** Codes of {@link MCPServerError}. */
export type MCPServerErrorCode =
  | 'ERR_CONFIG'
  | 'ERR_NO_CONTEXT'
  | 'ERR_DUPLICATE_TOOL'
  | 'ERR_DISCOVERY'
  | 'ERR_TASK_LIMIT'

/**
 * A configuration or programming error of the MCP server SDK.
 *
 * @example
 * ```ts
 * try { getContext() } catch (error) {
 *   if (error instanceof MCPServerError) console.log(error.code) // 'ERR_NO_CONTEXT'
 * }
 * ```
 */
export class MCPServerError extends Error {
  /** Stable machine-readable code. */
  readonly code: MCPServerErrorCode

  /**
   * @param code - stable code
   * @param message - generic, secret-free message
   */
  constructor(code: MCPServerErrorCode, message: string) {
    super(message)
    this.name = 'MCPServerError'
    this.code = code
  }
}

/**
 * Codes of {@link DispatchError}. `ERR_*` codes are raised by this SDK; the lower-case codes
 * are the enclave's (or the AS token endpoint's) own `error` values, passed through verbatim
 * (wire.md "Enclave limits and errors").
 */
export type DispatchErrorCode =
  | 'ERR_CONNECTION_UNAVAILABLE'
  | 'ERR_DISPATCH_NOT_CONFIGURED'
  | 'ERR_NOT_AUTHENTICATED'
  | 'ERR_TOKEN_EXCHANGE'
  | 'ERR_ENCLAVE_UNREACHABLE'
  | 'ERR_ENCLAVE_RESPONSE'
  | 'invalid_token'
  | 'invalid_request'
  | 'handle_unavailable'
  | 'host_not_allowed'
  | 'upstream_unreachable'
  | 'upstream_timeout'
  | 'response_too_large'
  | (string & {})

/**
 * A `dispatch()` through the enclave failed. `code` is stable: the enclave's `error` code
 * (e.g. `handle_unavailable`, `host_not_allowed`) or one of this SDK's `ERR_*` codes.
 * `status` is the HTTP status of the failing hop when there was one.
 *
 * @example
 * ```ts
 * try { await getContext().dispatch('github', { method: 'GET', path: '/user' }) }
 * catch (error) { if (error instanceof DispatchError) return `failed: ${error.code}` }
 * ```
 */
export class DispatchError extends Error {
  /** Stable machine-readable code. */
  readonly code: DispatchErrorCode
  /** HTTP status of the failing hop, if any. */
  readonly status: number | undefined

  /**
   * @param code - stable code
   * @param message - generic, secret-free message
   * @param status - HTTP status of the failing hop
   */
  constructor(code: DispatchErrorCode, message: string, status?: number) {
    super(message)
    this.name = 'DispatchError'
    this.code = code
    this.status = status
  }
}
