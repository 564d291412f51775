/**
 * What the AS writes about a request in its log lines (fastify's `req` serializer). Fastify's
 * default logs the whole URL, and here URLs carry things a log reader must not get: the query
 * of `/oauth/session/end?id_token_hint=…` is an ID token, the authorization endpoint's query
 * holds `state` and `login_hint`, and `/enclave/envelopes/{handle}` names a connection. So the
 * query is dropped (`?…` says there was one) and the handle is replaced by the route's
 * parameter name; method, host and peer stay, which is what request logs are read for.
 *
 * @module
 */
import type { FastifyRequest } from 'fastify'

const ENVELOPE_PATH = /^\/enclave\/envelopes\/[^/]+/

/** The logged form of a request URL: path only, the envelope handle masked. */
export function loggedUrl(url: string): string {
  const query = url.indexOf('?')
  const path = (query === -1 ? url : url.slice(0, query)).replace(
    ENVELOPE_PATH,
    '/enclave/envelopes/:handle',
  )
  return query === -1 ? path : `${path}?…`
}

/** fastify `serializers.req` for the AS. */
export function serializeRequest(request: FastifyRequest): Record<string, unknown> {
  return {
    method: request.method,
    url: loggedUrl(request.url),
    host: request.host,
    remoteAddress: request.ip,
    remotePort: request.socket.remotePort,
  }
}
