/**
 * The request id of the dispatch being served in the worker, kept in an `AsyncLocalStorage`
 * scope so the AS client forwards it on the envelope fetch without the dispatch pipeline
 * passing it along.
 *
 * @module
 */
import { AsyncLocalStorage } from 'node:async_hooks'

const storage = new AsyncLocalStorage<{ requestId: string }>()

/** Runs `fn` as part of the dispatch `requestId` (no scope when the launcher sent none). */
export function runWithRequestId<T>(requestId: string | undefined, fn: () => T): T {
  return requestId === undefined ? fn() : storage.run({ requestId }, fn)
}

/** `{ 'x-request-id': id }` inside a dispatch's scope, else nothing. */
export function requestIdHeaders(): Record<string, string> {
  const requestId = storage.getStore()?.requestId
  return requestId === undefined ? {} : { 'x-request-id': requestId }
}
