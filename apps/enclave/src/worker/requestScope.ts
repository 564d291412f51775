/**
 * What the worker forwards of the dispatch being served: its request id and the launcher's
 * span context (`traceparent`, `tracestate`), kept in an `AsyncLocalStorage` scope so the AS
 * client sends them on the envelope fetch without the dispatch pipeline passing them along.
 *
 * @module
 */
import { AsyncLocalStorage } from 'node:async_hooks'

const storage = new AsyncLocalStorage<Record<string, string>>()
const TRACE_HEADERS = ['traceparent', 'tracestate'] as const

/** Runs `fn` as part of one dispatch (no scope when the launcher sent nothing). */
export function runWithRequestId<T>(
  requestId: string | undefined,
  trace: Record<string, string> | undefined,
  fn: () => T,
): T {
  const headers: Record<string, string> = {}
  if (requestId !== undefined) headers['x-request-id'] = requestId
  for (const name of TRACE_HEADERS) {
    const value = trace?.[name]
    if (typeof value === 'string') headers[name] = value
  }
  return Object.keys(headers).length === 0 ? fn() : storage.run(headers, fn)
}

/** The headers of the current dispatch's scope, else nothing. */
export function requestIdHeaders(): Record<string, string> {
  return storage.getStore() ?? {}
}
