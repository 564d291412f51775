/**
 * Request ids across hops (`X-Request-Id`). The launcher takes an incoming id only when it is
 * well-formed (1–128 characters of `[A-Za-z0-9._:-]`), so arbitrary bytes never reach a log
 * line or the worker; anything else gets a random id. The id rides the dispatch IPC message
 * to the worker, which forwards it on its envelope fetch from the AS.
 *
 * @module
 */
import { randomUUID } from 'node:crypto'

export const REQUEST_ID_HEADER = 'x-request-id'

const WELL_FORMED = /^[A-Za-z0-9._:-]{1,128}$/

/** The incoming id when well-formed, else a fresh random one. */
export function requestIdFrom(value: unknown): string {
  return typeof value === 'string' && WELL_FORMED.test(value) ? value : randomUUID()
}
