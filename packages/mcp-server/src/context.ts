/**
 * The per-call context of a tool (AsyncLocalStorage): who is calling, and `dispatch`.
 *
 * @module
 */
import { AsyncLocalStorage } from 'node:async_hooks'
import type {
  AuthInfo,
  ClientCapabilities,
  CreateMessageRequestParams,
  CreateMessageResult,
  CreateMessageResultWithTools,
  ElicitRequestFormParams,
  ElicitResult,
  LoggingLevel,
} from '@modelcontextprotocol/server'
import type { VerifiedClaims } from './authorization/jwt.ts'
import type { DispatchRequest, DispatchResponse } from './dispatch/client.ts'
import { MCPServerError } from './errors.ts'

/** The authenticated caller of a tool. */
export interface AuthContext {
  /** The token's `sub`. */
  subject: string
  /** The token's scopes. */
  scopes: readonly string[]
  /** All verified claims of the access token. */
  claims: VerifiedClaims
}

/** What a tool sees through {@link getContext}. */
export interface ToolContext {
  /** The caller, or `null` (authorization disabled, or `failOpen` without a valid token). */
  readonly auth: AuthContext | null
  /** The official SDK's `AuthInfo` for the call, if any. */
  readonly authInfo: AuthInfo | undefined
  /**
   * Call an upstream API through the enclave with the caller's connection `connection`
   * (a name in the token's `connections` claim). Throws `DispatchError`.
   */
  dispatch(connection: string, request: DispatchRequest): Promise<DispatchResponse>
  /** The MCP session id (`undefined` on a stateless server). */
  readonly sessionId: string | undefined
  /**
   * Close the call's SSE stream now; the client reconnects with `Last-Event-ID` and gets the
   * result from the event store. A no-op without `sessions.resumability`.
   */
  closeStream(): void
  /** Aborted when the client cancels the call or the connection closes. */
  readonly signal: AbortSignal
  /**
   * Report progress (`notifications/progress`) — a no-op when the caller sent no
   * `progressToken`.
   */
  progress(progress: number, total?: number, message?: string): Promise<void>
  /**
   * Send a log message (`notifications/message`) on the call's stream. Needs the `logging`
   * option; messages below the level the client set with `logging/setLevel` are dropped.
   */
  log(level: LoggingLevel, data: unknown, logger?: string): Promise<void>
  /**
   * Ask the client's LLM (`sampling/createMessage`), push style: 2025 sessions only (rejects on
   * a 2026-07-28 request — return `inputRequired(...)` instead, which serves both eras).
   */
  sample(
    params: CreateMessageRequestParams,
  ): Promise<CreateMessageResult | CreateMessageResultWithTools>
  /** Ask the user (`elicitation/create`, form mode), push style: 2025 sessions only (see `sample`). */
  elicit(params: ElicitRequestFormParams): Promise<ElicitResult>
  /**
   * The client's answers to the `inputRequired(...)` requests of the previous round, keyed by the
   * names the handler gave them (untrusted input: read with `acceptedContent(…, schema)`).
   * `undefined` on a first call.
   */
  readonly inputResponses: Record<string, unknown> | undefined
  /**
   * The verified payload of the `requestState` the client echoed (minted with
   * {@link ToolContext.mintRequestState} in the previous round), or `undefined` on a first call.
   * A tampered, expired or foreign state never reaches the handler (`-32602`).
   */
  requestState<T = unknown>(): T | undefined
  /**
   * Seal `payload` as a `requestState` for `inputRequired({ …, requestState })`: HMAC-SHA256,
   * expiring (option `requestState.ttlSeconds`), bound to the method and the caller's token
   * subject. Signed, not encrypted: put no secret in it.
   */
  mintRequestState(payload: unknown): Promise<string>
  /**
   * The capabilities the client declared: per request on 2026-07-28 (the `_meta` envelope), at
   * `initialize` on 2025 sessions; `undefined` when unknown (stateless 2025 requests).
   */
  readonly clientCapabilities: ClientCapabilities | undefined
}

const storage = new AsyncLocalStorage<ToolContext>()

/**
 * The context of the tool call in progress.
 *
 * @throws MCPServerError `ERR_NO_CONTEXT` outside a tool call
 * @example
 * ```ts
 * async function whoami() {
 *   const { auth } = getContext()
 *   const user = await getContext().dispatch('github', { method: 'GET', path: '/user' })
 *   return `${auth?.subject}: ${user.body}`
 * }
 * ```
 */
export function getContext(): ToolContext {
  const context = storage.getStore()
  if (!context)
    throw new MCPServerError('ERR_NO_CONTEXT', 'getContext() called outside a tool call')
  return context
}

/** Run `fn` with `context` as the current tool context (internal). */
export function runWithContext<T>(context: ToolContext, fn: () => T): T {
  return storage.run(context, fn)
}
