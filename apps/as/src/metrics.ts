import { collectDefaultMetrics, Counter, Registry } from 'prom-client'

/**
 * Prometheus metrics of one AS instance (own registry: several instances may share a
 * process in tests). Every label value comes from a fixed list below, never from the
 * request: no token, secret, client id, username or URL reaches a label, and the series
 * count stays bounded whatever clients send.
 */
export const GRANT_TYPES: Readonly<Record<string, string>> = {
  authorization_code: 'authorization_code',
  refresh_token: 'refresh_token',
  client_credentials: 'client_credentials',
  'urn:ietf:params:oauth:grant-type:token-exchange': 'token_exchange',
}

/** Failure reasons counted (RFC 6749 / 6750 / 9449 error codes, plus the login page's). */
export const FAILURE_REASONS = [
  'invalid_client',
  'invalid_grant',
  'invalid_dpop_proof',
  'use_dpop_nonce',
  'invalid_token',
  'invalid_request',
  'invalid_scope',
  'invalid_target',
  'unauthorized_client',
  'unsupported_grant_type',
  'insufficient_scope',
  'login_failed',
  'login_rate_limited',
] as const
export type FailureReason = (typeof FAILURE_REASONS)[number]

/** Vault / enclave routes (method + fastify route pattern) → operation label. */
const VAULT_OPERATIONS: Readonly<Record<string, string>> = {
  'POST /connections': 'create',
  'PUT /connections/:id/credential': 'upload_envelope',
  'GET /connections': 'list',
  'DELETE /connections/:id': 'revoke',
  'GET /enclave/attestation': 'attestation',
  'GET /enclave/envelopes/:handle': 'envelope_fetch',
}

export class AsMetrics {
  readonly registry = new Registry()
  readonly #tokens: Counter<'grant_type'>
  readonly #failures: Counter<'reason'>
  readonly #vault: Counter<'operation' | 'status'>

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'dauth_as_' })
    this.#tokens = new Counter({
      name: 'dauth_as_tokens_issued_total',
      help: 'Successful token endpoint responses, by grant type',
      labelNames: ['grant_type'],
      registers: [this.registry],
    })
    this.#failures = new Counter({
      name: 'dauth_as_auth_failures_total',
      help: 'Refused authentication / authorization attempts, by error code',
      labelNames: ['reason'],
      registers: [this.registry],
    })
    this.#vault = new Counter({
      name: 'dauth_as_vault_operations_total',
      help: 'Connection vault and enclave route answers, by operation and HTTP status',
      labelNames: ['operation', 'status'],
      registers: [this.registry],
    })
    // Zero-valued series from the start, so rates and alerts work before the first event.
    for (const grantType of new Set(Object.values(GRANT_TYPES)))
      this.#tokens.inc({ grant_type: grantType }, 0)
    for (const reason of FAILURE_REASONS) this.#failures.inc({ reason }, 0)
  }

  tokenIssued(grantType: unknown): void {
    const label = typeof grantType === 'string' ? GRANT_TYPES[grantType] : undefined
    this.#tokens.inc({ grant_type: label ?? 'other' })
  }

  /** Counts `error` when it is one of {@link FAILURE_REASONS}; anything else is ignored. */
  failure(error: unknown): void {
    if (typeof error === 'string' && (FAILURE_REASONS as readonly string[]).includes(error))
      this.#failures.inc({ reason: error })
  }

  vaultResponse(method: string, routePattern: string | undefined, status: number): void {
    const operation = VAULT_OPERATIONS[`${method} ${routePattern ?? ''}`]
    if (operation) this.#vault.inc({ operation, status: String(status) })
  }

  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() }
  }
}
