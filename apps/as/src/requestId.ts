/**
 * Request ids across hops (`X-Request-Id`): an incoming id is used only when well-formed
 * (1–128 characters of `[A-Za-z0-9._:-]`), so arbitrary bytes never reach a log line;
 * anything else gets a random id. Fastify puts the id (`reqId`) in every log line of the
 * request; the `onRequest` hook echoes it, on hijacked (oidc-provider) answers too.
 *
 * @module
 */
import type { IncomingMessage } from 'node:http'
import { REQUEST_ID_HEADER, requestIdFrom } from '@dauth/protocol/log'

export { REQUEST_ID_HEADER }

/** fastify's `genReqId`: the request's own id or a generated one. */
export function genReqId(req: IncomingMessage): string {
  return requestIdFrom(req.headers[REQUEST_ID_HEADER])
}
