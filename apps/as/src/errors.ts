import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify'
import { errors } from 'oidc-provider'
import { ReplayStoreError } from '@dauth/protocol'

/**
 * Wire error codes of the AS's own (non-oidc-provider) routes, with their HTTP status.
 * Documented in README.md "Error codes".
 */
export const HTTP_ERROR_STATUS = {
  invalid_request: 400,
  invalid_token: 401,
  invalid_dpop_proof: 401,
  insufficient_scope: 403,
  not_found: 404,
  conflict: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  server_error: 500,
  bad_gateway: 502,
  service_unavailable: 503,
  temporarily_unavailable: 503,
  gateway_timeout: 504,
} as const

export type HttpErrorCode = keyof typeof HTTP_ERROR_STATUS

/** A wire error: stable `error` code, public description, optional RFC 6750 challenge. */
export class HttpError extends Error {
  readonly error: HttpErrorCode
  readonly status: number
  readonly description: string
  readonly challenge: string | undefined
  /** `Retry-After` seconds (RFC 9110 §10.2.3), for 503 answers. */
  readonly retryAfter: number | undefined

  constructor(
    error: HttpErrorCode,
    description: string,
    options?: { challenge?: string; retryAfter?: number },
  ) {
    super(description)
    this.name = 'HttpError'
    this.error = error
    this.status = HTTP_ERROR_STATUS[error]
    this.description = description
    this.challenge = options?.challenge
    this.retryAfter = options?.retryAfter
  }
}

/** Public description of a storage / replay-store outage (never the cause). */
export const STORAGE_UNAVAILABLE_DESCRIPTION =
  "The authorization server's storage is temporarily unavailable"

/** `Retry-After` seconds sent with `503 temporarily_unavailable`. */
export const STORAGE_RETRY_AFTER_SECONDS = 5

/**
 * PostgreSQL, SQLite or the Redis replay store cannot answer: the request fails closed with
 * `503 temporarily_unavailable` + `Retry-After`. An oidc-provider error (status 503, exposed),
 * so thrown from an adapter it becomes oidc-provider's answer too; on fastify routes
 * {@link sendError} maps it. The cause stays in `cause` (logs only), never in the response.
 */
export class StorageUnavailableError extends errors.OIDCProviderError {
  constructor(options?: { cause?: unknown }) {
    super(503, 'temporarily_unavailable', { detail: 'storage unavailable', cause: options?.cause })
    this.name = 'StorageUnavailableError'
    this.error_description = STORAGE_UNAVAILABLE_DESCRIPTION
    this.expose = true
    // A 503 is no authorization response: never redirect it to the client.
    this.allow_redirect = false
  }
}

const OUTAGE_ERRNO = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ERR_SOCKET_CLOSED',
])

const OUTAGE_MESSAGE =
  /connection terminated|timeout exceeded when trying to connect|query read timeout|connection is closed|command timed out|client has encountered a connection error|cannot use a pool after calling end|max retries per request/i

/**
 * True when `error` means the store is unreachable or unable to decide (connection refused
 * or reset, timeouts, PostgreSQL SQLSTATE classes 08/53/57P, Redis replay store errors) as
 * opposed to a bug (SQL error, bad data), which stays a generic 500.
 */
export function isStorageOutage(error: unknown, depth = 0): boolean {
  if (depth > 4 || typeof error !== 'object' || error === null) return false
  if (error instanceof StorageUnavailableError || error instanceof ReplayStoreError) return true
  const { code, name, message, cause } = error as {
    code?: unknown
    name?: unknown
    message?: unknown
    cause?: unknown
  }
  if (typeof code === 'string' && (OUTAGE_ERRNO.has(code) || /^(08|53|57P)/.test(code))) return true
  if (name === 'MaxRetriesPerRequestError') return true
  if (typeof message === 'string' && OUTAGE_MESSAGE.test(message)) return true
  if (error instanceof AggregateError && error.errors.some((e) => isStorageOutage(e, depth + 1)))
    return true
  return isStorageOutage(cause, depth + 1)
}

/** `error` as a {@link StorageUnavailableError} when it is an outage, else unchanged. */
export function asStorageError(error: unknown): unknown {
  return error instanceof StorageUnavailableError || !isStorageOutage(error)
    ? error
    : new StorageUnavailableError({ cause: error })
}

function fromFastifyError(error: FastifyError): HttpError | undefined {
  switch (error.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new HttpError('payload_too_large', 'Request body too large')
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new HttpError('unsupported_media_type', 'Unsupported content type')
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return new HttpError('invalid_request', 'Malformed JSON body')
    default:
      if (
        error instanceof SyntaxError ||
        (typeof error.statusCode === 'number' && error.statusCode === 400)
      ) {
        return new HttpError('invalid_request', 'Malformed request')
      }
      return undefined
  }
}

/**
 * The one place where errors become responses: unknown errors give a generic 500 body.
 * Returns the wire error code sent (for metrics).
 */
export function sendError(
  error: unknown,
  request: FastifyRequest,
  reply: FastifyReply,
): HttpErrorCode {
  if (isStorageOutage(error)) {
    const cause = error instanceof StorageUnavailableError ? error.cause : error
    request.log.warn(
      { err: { name: (cause as Error).name, code: (cause as { code?: unknown }).code } },
      'storage unavailable',
    )
    error = new HttpError('temporarily_unavailable', STORAGE_UNAVAILABLE_DESCRIPTION, {
      retryAfter: STORAGE_RETRY_AFTER_SECONDS,
    })
  }
  const known =
    error instanceof HttpError
      ? error
      : (fromFastifyError(error as FastifyError) ??
        new HttpError('server_error', 'Internal server error'))
  if (known.status >= 500 && !(error instanceof HttpError)) {
    request.log.error(
      { err: { name: (error as Error).name, message: (error as Error).message } },
      'unhandled error',
    )
  }
  if (known.challenge) void reply.header('www-authenticate', known.challenge)
  if (known.retryAfter !== undefined) void reply.header('retry-after', String(known.retryAfter))
  void reply
    .code(known.status)
    .header('cache-control', 'no-store')
    .send({ error: known.error, error_description: known.description })
  return known.error
}
