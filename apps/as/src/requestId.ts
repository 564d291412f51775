/**
 * Request ids across hops (`X-Request-Id`): an incoming id is used only when well-formed
 * (1–128 characters of `[A-Za-z0-9._:-]`), so arbitrary bytes never reach a log line;
 * anything else gets a random id. Fastify puts the id (`reqId`) in every log line of the
 * request; the `onRequest` hook echoes it, on hijacked (oidc-provider) answers too.
 *
 * @module
 */
import { randomUUID } from 'node:crypto'
import type { IncomingMessage } from 'node:http'

export const REQUEST_ID_HEADER = 'x-request-id'

const WELL_FORMED = /^[A-Za-z0-9._:-]{1,128}$/

/** The incoming id when well-formed, else a fresh random one. */
export function requestIdFrom(value: unknown): string {
  return typeof value === 'string' && WELL_FORMED.test(value) ? value : randomUUID()
}

/** fastify's `genReqId`: the request's own id or a generated one. */
export function genReqId(req: IncomingMessage): string {
  return requestIdFrom(req.headers[REQUEST_ID_HEADER])
}
