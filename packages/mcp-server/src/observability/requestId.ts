/**
 * Request ids across hops (`X-Request-Id`). An incoming id is taken only when it is
 * well-formed (1–128 characters of `[A-Za-z0-9._:-]`), so arbitrary bytes never reach a log
 * line or an outbound header; otherwise a random one is generated. The id of the request
 * being served is kept in an `AsyncLocalStorage` scope, so the dispatch client forwards it on
 * its outbound hops (token exchange at the AS, `/dispatch` at the enclave) without every
 * layer passing it along.
 *
 * @module
 */
import { AsyncLocalStorage } from 'node:async_hooks'
import { REQUEST_ID_HEADER } from '@dauth/protocol/log'

export { REQUEST_ID_HEADER, requestIdFrom } from '@dauth/protocol/log'

/** What the current request scope knows. */
export interface RequestScope {
  requestId: string
}

const storage = new AsyncLocalStorage<RequestScope>()

/** Runs `fn` inside the scope of one request. */
export function runInRequestScope<T>(scope: RequestScope, fn: () => T): T {
  return storage.run(scope, fn)
}

/** The id of the request being served, if any. */
export function currentRequestId(): string | undefined {
  return storage.getStore()?.requestId
}

/** Headers that carry the current request's id on an outbound hop (none outside a request). */
export function requestIdHeaders(): Record<string, string> {
  const requestId = currentRequestId()
  return requestId === undefined ? {} : { [REQUEST_ID_HEADER]: requestId }
}
