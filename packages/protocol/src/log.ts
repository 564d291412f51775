/**
 * What goes into the log lines of every DAuth service (`@dauth/protocol/log`), one copy for the
 * AS, the enclave and the MCP servers so that a change made for one holds for all:
 *
 * - what pino censors (defence in depth: request bodies and headers are never logged on
 *   purpose). Any field named like a carrier of a token, a proof, a client secret, a password,
 *   a cookie or an envelope is replaced by `[Redacted]` at the top level and two levels down
 *   (`req.headers.authorization`, `{ failure: { token } }`);
 * - the request id (`X-Request-Id`) that ties one request's lines together across hops.
 *
 * @module
 */
import { randomUUID } from 'node:crypto'

/** Field names whose values are never written to a log. */
export const SENSITIVE_LOG_FIELDS = [
  'authorization',
  'proxy-authorization',
  'dpop',
  'cookie',
  'set-cookie',
  'password',
  'client_secret',
  'client_assertion',
  'access_token',
  'refresh_token',
  'id_token',
  'subject_token',
  'actor_token',
  'code_verifier',
  'token',
  'proof',
  'credential',
  'secret',
  'envelope',
  'body',
] as const

/** pino `redact` paths for {@link SENSITIVE_LOG_FIELDS} at depths 0 to 2. */
export const LOG_REDACT_PATHS: readonly string[] = SENSITIVE_LOG_FIELDS.flatMap((field) => {
  const key = `["${field}"]`
  return [key, `*${key}`, `*.*${key}`]
})

/** The `redact` option of a DAuth service's pino loggers (pino's `{ paths }` form). */
export const LOG_REDACT: { paths: string[] } = { paths: [...LOG_REDACT_PATHS] }

/** The header carrying a request's id across hops (case-insensitive on the wire). */
export const REQUEST_ID_HEADER = 'x-request-id'

// An incoming id reaches log lines and outbound headers: 1–128 characters of
// `[A-Za-z0-9._:-]` carry no bytes a log reader or a header parser could trip over.
const WELL_FORMED_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/

/** The incoming request id when well-formed, else a fresh random one. */
export function requestIdFrom(value: unknown): string {
  return typeof value === 'string' && WELL_FORMED_REQUEST_ID.test(value) ? value : randomUUID()
}
