/**
 * The observation hooks of {@link MCPServer} (option `observer`). The SDK reports what
 * happened through this small interface and depends on no metrics library: the Prometheus
 * implementation lives behind the `@dauth/mcp-server/prometheus` subpath (prom-client is an
 * optional peer dependency), and an application on another metrics system implements these
 * few methods itself.
 *
 * Every label-like field is bounded and never derived from request data: outcomes and
 * reasons are fixed unions, `tool` is the name of a collected tool, and dispatch failure
 * codes are mapped onto {@link DISPATCH_FAILURE_CODES} (`other` for anything else). No event
 * carries a token, a proof, an envelope or a credential.
 *
 * @module
 */
import type { AuthFailure } from '../authorization/authorize.ts'

/** Outcome of one HTTP request answered by the server, from its status. */
export type RequestOutcome =
  | 'ok'
  | 'unauthorized'
  | 'forbidden'
  | 'not_found'
  | 'client_error'
  | 'server_error'

/** Every {@link RequestOutcome}. */
export const REQUEST_OUTCOMES: readonly RequestOutcome[] = [
  'ok',
  'unauthorized',
  'forbidden',
  'not_found',
  'client_error',
  'server_error',
]

/** The `reason` of a refused request (the tags of `AuthFailure`). */
export type AuthFailureReason = AuthFailure['reason']

/** Every {@link AuthFailureReason} (kept complete by the `satisfies` check below). */
export const AUTH_FAILURE_REASONS = [
  'missing_token',
  'malformed_authorization',
  'invalid_token',
  'dpop_bound_token_as_bearer',
  'dpop_required',
  'invalid_dpop_proof',
  'use_dpop_nonce',
  'unavailable',
  'insufficient_scope',
] as const satisfies readonly AuthFailureReason[]
// Compile-time completeness: a new AuthFailure tag not listed above fails typecheck here.
const _allReasonsListed: Exclude<
  AuthFailureReason,
  (typeof AUTH_FAILURE_REASONS)[number]
> extends never
  ? true
  : never = true
void _allReasonsListed

/**
 * Outcome of a `tools/call`: `success`, `error` (a tool error result or a thrown handler),
 * `insufficient_scope` (refused for missing scopes), `task` (a task was created).
 */
export type ToolCallOutcome = 'success' | 'error' | 'insufficient_scope' | 'task'

/** Every {@link ToolCallOutcome}. */
export const TOOL_CALL_OUTCOMES: readonly ToolCallOutcome[] = [
  'success',
  'error',
  'insufficient_scope',
  'task',
]

/**
 * Stable failure codes of `dispatch()` (`DispatchError.code`: this SDK's `ERR_*` and the
 * enclave's documented error codes). Any other code is reported as `other`.
 */
export const DISPATCH_FAILURE_CODES = [
  'ERR_CONNECTION_UNAVAILABLE',
  'ERR_DISPATCH_NOT_CONFIGURED',
  'ERR_NOT_AUTHENTICATED',
  'ERR_TOKEN_EXCHANGE',
  'ERR_ENCLAVE_UNREACHABLE',
  'ERR_ENCLAVE_RESPONSE',
  'invalid_token',
  'invalid_request',
  'invalid_dpop_proof',
  'use_dpop_nonce',
  'handle_unavailable',
  'host_not_allowed',
  'upstream_unreachable',
  'upstream_timeout',
  'response_too_large',
  'temporarily_unavailable',
  'server_error',
  'other',
] as const

/** A {@link DISPATCH_FAILURE_CODES} entry. */
export type DispatchFailureCode = (typeof DISPATCH_FAILURE_CODES)[number]

/** Maps any code onto {@link DISPATCH_FAILURE_CODES} (`other` when unknown). */
export function dispatchFailureCode(code: unknown): DispatchFailureCode {
  return typeof code === 'string' && (DISPATCH_FAILURE_CODES as readonly string[]).includes(code)
    ? (code as DispatchFailureCode)
    : 'other'
}

/** Maps an HTTP status onto a {@link RequestOutcome}. */
export function requestOutcome(status: number): RequestOutcome {
  if (status < 400) return 'ok'
  if (status === 401) return 'unauthorized'
  if (status === 403) return 'forbidden'
  if (status === 404) return 'not_found'
  return status < 500 ? 'client_error' : 'server_error'
}

/** One answered HTTP request. */
export interface RequestEvent {
  /** The request id (`X-Request-Id`, validated or generated). */
  requestId: string
  method: string
  status: number
  outcome: RequestOutcome
  durationSeconds: number
}

/** One refused request (the answer is a 401, 403 or 503 challenge). */
export interface AuthFailureEvent {
  requestId: string | undefined
  reason: AuthFailureReason
}

/** One `tools/call` of a collected tool. */
export interface ToolCallEvent {
  requestId: string | undefined
  /** The collected tool's name. */
  tool: string
  outcome: ToolCallOutcome
  durationSeconds: number
}

/** One `dispatch()` through the enclave (token exchange included). */
export interface DispatchEvent {
  requestId: string | undefined
  /** `undefined` on success. */
  failure: DispatchFailureCode | undefined
  durationSeconds: number
}

/**
 * Receives the server's observations. Every method is optional and called synchronously;
 * an exception thrown by an observer is swallowed (observing never changes an answer).
 */
export interface MCPServerObserver {
  request?(event: RequestEvent): void
  authFailure?(event: AuthFailureEvent): void
  toolCall?(event: ToolCallEvent): void
  dispatch?(event: DispatchEvent): void
}

/** Calls one observer method, swallowing anything it throws. */
export function notify<K extends keyof MCPServerObserver>(
  observer: MCPServerObserver | undefined,
  method: K,
  event: Parameters<NonNullable<MCPServerObserver[K]>>[0],
): void {
  const fn = observer?.[method] as ((e: typeof event) => void) | undefined
  if (!fn) return
  try {
    fn.call(observer, event)
  } catch {
    // an observer must not change the answer
  }
}
