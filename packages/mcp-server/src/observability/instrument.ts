/**
 * Where {@link MCPServer} reports to its observer and keeps the request scope: one object
 * per server, so the server's own code stays a few calls long.
 *
 * @module
 */
import { DispatchError } from '../errors.ts'
import {
  type AuthFailureReason,
  dispatchFailureCode,
  type MCPServerObserver,
  notify,
  requestOutcome,
  type ToolCallOutcome,
} from './observer.ts'
import {
  currentRequestId,
  REQUEST_ID_HEADER,
  requestIdFrom,
  runInRequestScope,
} from './requestId.ts'
import { context, extractContext, inSpan, SpanKind, SpanStatusCode } from './tracing.ts'

/** HTTP methods named as such in span names and attributes; any other is `_OTHER`. */
const KNOWN_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'PATCH'])

function seconds(since: bigint): number {
  return Number(process.hrtime.bigint() - since) / 1e9
}

/** Whether a tool's answer is an error result (`isError: true`). */
function isErrorResult(value: unknown): boolean {
  return (
    typeof value === 'object' && value !== null && (value as { isError?: unknown }).isError === true
  )
}

export class Instrumentation {
  readonly #observer: MCPServerObserver | undefined

  constructor(observer: MCPServerObserver | undefined) {
    this.#observer = observer
  }

  /**
   * Serves one HTTP request inside its request scope: takes or generates its
   * `X-Request-Id`, echoes it on the answer and reports the outcome.
   */
  serve(request: Request, handle: () => Promise<Response>): Promise<Response> {
    const started = process.hrtime.bigint()
    const requestId = requestIdFrom(request.headers.get(REQUEST_ID_HEADER))
    const method = KNOWN_METHODS.has(request.method) ? request.method : '_OTHER'
    return inSpan(
      method,
      SpanKind.SERVER,
      () => extractContext(request.headers),
      { 'http.request.method': method, 'dauth.request_id': requestId },
      async (span) => {
        const response = await runInRequestScope({ requestId }, handle)
        try {
          response.headers.set(REQUEST_ID_HEADER, requestId)
        } catch {
          // immutable headers (a fetched Response passed through): answered without the echo
        }
        span.setAttribute('http.response.status_code', response.status)
        if (response.status >= 500) span.setStatus({ code: SpanStatusCode.ERROR })
        notify(this.#observer, 'request', {
          requestId,
          method: request.method,
          status: response.status,
          outcome: requestOutcome(response.status),
          durationSeconds: seconds(started),
        })
        return response
      },
    )
  }

  /** A refused request (its 401/403/503 answer is being built). */
  authFailure(reason: AuthFailureReason): void {
    notify(this.#observer, 'authFailure', { requestId: currentRequestId(), reason })
  }

  /** A `tools/call` refused before its handler ran (missing scopes). */
  toolRefused(tool: string): void {
    notify(this.#observer, 'toolCall', {
      requestId: currentRequestId(),
      tool,
      outcome: 'insufficient_scope',
      durationSeconds: 0,
    })
  }

  /**
   * Runs one `tools/call` handler of the collected tool `tool`. `classify` tells a task or
   * a refusal from a plain result.
   */
  async toolCall<T>(
    tool: string,
    run: () => Promise<T>,
    classify: (value: T) => ToolCallOutcome | undefined,
  ): Promise<T> {
    const started = process.hrtime.bigint()
    let outcome: ToolCallOutcome = 'error'
    const attributes = { 'mcp.method.name': 'tools/call', 'mcp.tool.name': tool }
    try {
      return await inSpan(
        `tools/call ${tool}`,
        SpanKind.INTERNAL,
        () => context.active(),
        attributes,
        async (span) => {
          const value = await run()
          outcome = classify(value) ?? (isErrorResult(value) ? 'error' : 'success')
          span.setAttribute('dauth.tool.outcome', outcome)
          if (outcome === 'error') span.setStatus({ code: SpanStatusCode.ERROR })
          return value
        },
      )
    } finally {
      notify(this.#observer, 'toolCall', {
        requestId: currentRequestId(),
        tool,
        outcome,
        durationSeconds: seconds(started),
      })
    }
  }

  /** Runs one `dispatch()` (token exchange + enclave call). */
  async dispatch<T>(run: () => Promise<T>): Promise<T> {
    const started = process.hrtime.bigint()
    let failure: unknown
    let failed = false
    try {
      // The CLIENT span is active while the dispatch client sends: its context is what the
      // token exchange and the enclave call carry in `traceparent`.
      return await inSpan(
        'dispatch',
        SpanKind.CLIENT,
        () => context.active(),
        {},
        async (span) => {
          try {
            const value = await run()
            span.setAttribute('dauth.dispatch.outcome', 'success')
            return value
          } catch (error) {
            span.setAttribute('dauth.dispatch.outcome', 'failure')
            span.setAttribute(
              'error.type',
              dispatchFailureCode(error instanceof DispatchError ? error.code : undefined),
            )
            throw error
          }
        },
      )
    } catch (error) {
      failed = true
      failure = error instanceof DispatchError ? error.code : undefined
      throw error
    } finally {
      notify(this.#observer, 'dispatch', {
        requestId: currentRequestId(),
        failure: failed ? dispatchFailureCode(failure) : undefined,
        durationSeconds: seconds(started),
      })
    }
  }
}
