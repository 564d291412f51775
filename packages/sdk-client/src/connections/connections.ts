import {
  AttestationError,
  base64url,
  sealCredential,
  verifyAttestation,
  type CredentialBinding,
  type CredentialInjection,
} from '@dauth/protocol'
import { authFetch } from '../auth/authFetch.ts'
import type { ClientAuth } from '../auth/types.ts'
import { AttestationRefusedError, HttpStatusError, InvalidResponseError } from '../errors.ts'
import {
  defaultFetch,
  isRecord,
  readJsonObject,
  readOAuthError,
  type FetchLike,
} from '../internal/http.ts'

/** What the client pins before sealing (ARCHITECTURE.md §3; `.dauth/attestation.json` in dev). */
export interface AttestationTrust {
  /** Public Ed25519 JWK of the platform key that signs attestation documents. */
  readonly platformJwk: JsonWebKey
  /** Allowed worker measurements (b64url SHA-384). */
  readonly measurements: readonly string[]
  /** Maximum attestation age in seconds (default: `verifyAttestation`'s). */
  readonly maxAgeSeconds?: number
}

/** Options of {@link DAuthConnections}. */
export interface DAuthConnectionsOptions {
  /** AS issuer identifier; the vault is at `<issuer>/connections`. */
  readonly issuer: string
  /** Auth whose tokens are for resource `<issuer>/connections` with `connections:write` (DPoP). */
  readonly auth: ClientAuth
  readonly attestation: AttestationTrust
  readonly fetch?: FetchLike
  /** Clock in seconds since the epoch, for the attestation freshness check. */
  readonly now?: () => number
}

/** Input of {@link DAuthConnections.create}. */
export interface CreateConnectionInput {
  /** Connection name the MCP server refers to (e.g. `github`). */
  readonly name: string
  /** Provider label (e.g. `github`). */
  readonly provider: string
  /**
   * The credential. A `Uint8Array` is **zeroed in place** once sealed (or on failure); a
   * string is copied into bytes that are zeroed likewise (the string itself cannot be wiped).
   */
  readonly secret: string | Uint8Array
  /** Hosts the enclave may send the credential to; taken from the sealed plaintext. */
  readonly allowedHosts: readonly string[]
  readonly inject: CredentialInjection
}

/** A connection whose credential was sealed and uploaded. */
export interface CreatedConnection {
  readonly connectionId: string
  /** Opaque handle an MCP server uses to dispatch through the enclave. */
  readonly handle: string
  readonly name: string
}

/** A connection as listed by the vault (never with ciphertext). */
export interface ConnectionInfo {
  readonly connectionId: string
  readonly name: string
  readonly provider: string
  readonly status: string
  readonly handle: string | null
  readonly createdAt: string | number | undefined
}

/**
 * The connection vault API of the DAuth AS: creates connections whose credential is sealed
 * on this device to an **attested** enclave key, so that only the enclave can open it.
 *
 * @example
 * ```ts
 * const connections = new DAuthConnections({
 *   issuer: 'http://localhost:4000',
 *   auth: ClientCredentialsAuth({ issuer, clientId, clientSecret, dpop: true,
 *     resource: 'http://localhost:4000/connections', scope: 'connections:read connections:write' }),
 *   attestation: await loadAttestationPolicy('.dauth/attestation.json'),
 * })
 * const { handle } = await connections.create({ name: 'demo', provider: 'demo',
 *   secret: process.env.DEMO_TOKEN!, allowedHosts: ['localhost:4300'], inject: { type: 'bearer' } })
 * ```
 */
export class DAuthConnections {
  readonly #issuer: string
  readonly #fetch: FetchLike
  readonly #plainFetch: FetchLike
  readonly #trust: AttestationTrust
  readonly #now: (() => number) | undefined

  constructor(options: DAuthConnectionsOptions) {
    this.#issuer = options.issuer.replace(/\/+$/, '')
    this.#plainFetch = options.fetch ?? defaultFetch
    this.#fetch = authFetch(options.auth, { fetch: this.#plainFetch })
    this.#trust = options.attestation
    this.#now = options.now
  }

  #url(path: string): string {
    return `${this.#issuer}${path}`
  }

  /**
   * Creates a connection: `POST /connections`, verifies a fresh enclave attestation
   * (pinned platform key, allowed measurement, our nonce, freshness, not debug), seals the
   * binding + secret to the attested key, `PUT /connections/{id}/credential`.
   * Throws {@link AttestationRefusedError} (nothing is sealed or uploaded) or {@link HttpStatusError}.
   */
  async create(input: CreateConnectionInput): Promise<CreatedConnection> {
    const secret =
      typeof input.secret === 'string' ? new TextEncoder().encode(input.secret) : input.secret
    try {
      const created = await this.#send('Creating the connection', 'POST', '/connections', 201, {
        name: input.name,
        provider: input.provider,
      })
      const connectionId = created.connection_id
      const uploadNonce = created.upload_nonce
      const owner = created.owner
      if (
        typeof connectionId !== 'string' ||
        typeof uploadNonce !== 'string' ||
        !isRecord(owner) ||
        typeof owner.iss !== 'string' ||
        typeof owner.sub !== 'string'
      ) {
        throw new InvalidResponseError(
          'POST /connections response lacks connection_id, upload_nonce or owner',
        )
      }
      const recipient = await this.#attest()
      const binding: CredentialBinding = {
        v: 1,
        connection_id: connectionId,
        upload_nonce: uploadNonce,
        owner: { iss: owner.iss, sub: owner.sub },
        provider: input.provider,
        allowed_hosts: [...input.allowedHosts],
        inject: input.inject,
      }
      const envelope = sealCredential(binding, secret, recipient)
      const uploaded = await this.#send(
        'Uploading the credential',
        'PUT',
        `/connections/${encodeURIComponent(connectionId)}/credential`,
        200,
        { envelope },
      )
      if (typeof uploaded.handle !== 'string') {
        throw new InvalidResponseError('PUT credential response lacks handle')
      }
      return {
        connectionId,
        handle: uploaded.handle,
        name: typeof uploaded.name === 'string' ? uploaded.name : input.name,
      }
    } finally {
      secret.fill(0)
    }
  }

  /** The caller's connections (`GET /connections`). */
  async list(): Promise<ConnectionInfo[]> {
    const body = await this.#send('Listing connections', 'GET', '/connections', 200)
    if (!Array.isArray(body.connections)) {
      throw new InvalidResponseError('GET /connections response lacks connections')
    }
    return body.connections.filter(isRecord).map((c) => ({
      connectionId: String(c.connection_id),
      name: String(c.name),
      provider: String(c.provider),
      status: String(c.status),
      handle: typeof c.handle === 'string' ? c.handle : null,
      createdAt:
        typeof c.created_at === 'string' || typeof c.created_at === 'number'
          ? c.created_at
          : undefined,
    }))
  }

  /** Revokes a connection (`DELETE /connections/{id}`); later dispatches through it fail. */
  async revoke(connectionId: string): Promise<void> {
    const response = await this.#fetch(
      this.#url(`/connections/${encodeURIComponent(connectionId)}`),
      {
        method: 'DELETE',
      },
    )
    if (response.status !== 204 && response.status !== 200) {
      const { error } = await readOAuthError(response)
      throw new HttpStatusError('Revoking the connection', response.status, error)
    }
    await response.body?.cancel()
  }

  /** Fetches and verifies an attestation for a fresh 32-byte nonce; returns the sealing recipient. */
  async #attest(): Promise<{ kid: string; publicKey: Uint8Array }> {
    const nonce = base64url.encode(crypto.getRandomValues(new Uint8Array(32)))
    const response = await this.#plainFetch(
      this.#url(`/enclave/attestation?nonce=${encodeURIComponent(nonce)}`),
      { headers: { accept: 'application/json' } },
    )
    if (response.status !== 200) {
      const { error } = await readOAuthError(response)
      throw new HttpStatusError('Fetching the enclave attestation', response.status, error)
    }
    const body = await readJsonObject(response, 'Attestation response')
    if (typeof body.attestation !== 'string') {
      throw new AttestationRefusedError('ERR_ATTESTATION_MALFORMED')
    }
    let document
    try {
      const now = this.#now?.()
      document = await verifyAttestation(body.attestation, {
        platformJwk: this.#trust.platformJwk,
        measurements: this.#trust.measurements,
        nonce,
        ...(this.#trust.maxAgeSeconds !== undefined
          ? { maxAgeSeconds: this.#trust.maxAgeSeconds }
          : {}),
        ...(now !== undefined ? { now } : {}),
      })
    } catch (error) {
      if (error instanceof AttestationError)
        throw new AttestationRefusedError(error.code, { cause: error })
      throw error
    }
    // Defence in depth: these are verifyAttestation's job too, but sealing to a wrong key is irreversible.
    if (document.nonce !== nonce) throw new AttestationRefusedError('ERR_ATTESTATION_NONCE')
    if (document.debug !== false) throw new AttestationRefusedError('ERR_ATTESTATION_DEBUG')
    if (!this.#trust.measurements.includes(document.measurement)) {
      throw new AttestationRefusedError('ERR_ATTESTATION_MEASUREMENT')
    }
    if (
      base64url.encode(document.enclavePublicKey) !== document.enclave_pk ||
      document.enclavePublicKey.length !== 32
    ) {
      throw new AttestationRefusedError('ERR_ATTESTATION_MALFORMED')
    }
    return { kid: document.kid, publicKey: document.enclavePublicKey }
  }

  async #send(
    what: string,
    method: string,
    path: string,
    expectedStatus: number,
    json?: unknown,
  ): Promise<Record<string, unknown>> {
    const response = await this.#fetch(this.#url(path), {
      method,
      headers: {
        accept: 'application/json',
        ...(json !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      ...(json !== undefined ? { body: JSON.stringify(json) } : {}),
    })
    if (response.status !== expectedStatus) {
      const { error } = await readOAuthError(response)
      throw new HttpStatusError(what, response.status, error)
    }
    return readJsonObject(response, what)
  }
}
