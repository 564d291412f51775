/**
 * What pino censors in every log line of every DAuth service (`@dauth/protocol/log`; defence in
 * depth: request bodies and headers are never logged on purpose). One list for the AS, the
 * enclave and the MCP servers, so that a field added for one is censored by all. Any field named like a carrier of a token, a proof, a
 * client secret, a password, a cookie or an envelope is replaced by `[Redacted]` at the top
 * level and two levels down (`req.headers.authorization`, `{ failure: { token } }`).
 *
 * @module
 */
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
