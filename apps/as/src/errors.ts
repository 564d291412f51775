import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify'

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
  gateway_timeout: 504,
} as const

export type HttpErrorCode = keyof typeof HTTP_ERROR_STATUS

/** A wire error: stable `error` code, public description, optional RFC 6750 challenge. */
export class HttpError extends Error {
  readonly error: HttpErrorCode
  readonly status: number
  readonly description: string
  readonly challenge: string | undefined

  constructor(error: HttpErrorCode, description: string, options?: { challenge?: string }) {
    super(description)
    this.name = 'HttpError'
    this.error = error
    this.status = HTTP_ERROR_STATUS[error]
    this.description = description
    this.challenge = options?.challenge
  }
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

/** The one place where errors become responses: unknown errors give a generic 500 body. */
export function sendError(error: unknown, request: FastifyRequest, reply: FastifyReply): void {
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
  void reply
    .code(known.status)
    .header('cache-control', 'no-store')
    .send({ error: known.error, error_description: known.description })
}
