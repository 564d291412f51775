import type { FastifyInstance } from 'fastify'
import type { ReplayStore } from '@dauth/protocol'
import { HttpError } from '../errors.ts'
import type { SigningKeys } from '../keys.ts'
import { ENCLAVE_CLIENT_ID, ENVELOPES_SCOPE, enclaveResource } from '../registry/resources.ts'
import type { ConnectionStore } from '../storage/types.ts'
import { authenticateDpopRequest } from '../tokens/authenticate.ts'

export interface EnclaveRouteDependencies {
  issuer: string
  enclaveUrl: string
  keys: SigningKeys
  replay: ReplayStore
  connections: ConnectionStore
  now: () => number
  /** Timeout of the proxied attestation request, ms. */
  attestationTimeoutMs: number
  fetch: typeof fetch
}

/** 16–64 bytes as unpadded base64url. */
const NONCE = /^[A-Za-z0-9_-]{22,86}$/
const HANDLE = /^hdl_[A-Za-z0-9_-]{43}$/
const MAX_ATTESTATION_BYTES = 64 * 1024

function validNonce(nonce: unknown): nonce is string {
  if (typeof nonce !== 'string' || !NONCE.test(nonce) || nonce.length % 4 === 1) return false
  const bytes = Buffer.from(nonce, 'base64url')
  return bytes.length >= 16 && bytes.length <= 64 && bytes.toString('base64url') === nonce
}

/** `GET /enclave/attestation` (proxy) and the enclave-only `GET /enclave/envelopes/{handle}`. */
export function registerEnclaveRoutes(
  app: FastifyInstance,
  getDeps: () => EnclaveRouteDependencies,
): void {
  app.get('/enclave/attestation', async (request, reply) => {
    const nonce = (request.query as { nonce?: unknown }).nonce
    if (!validNonce(nonce))
      throw new HttpError('invalid_request', 'nonce must be 16 to 64 bytes of unpadded base64url')
    const deps = getDeps()
    let response: Response
    try {
      response = await deps.fetch(`${deps.enclaveUrl}/attestation?nonce=${nonce}`, {
        signal: AbortSignal.timeout(deps.attestationTimeoutMs),
        redirect: 'error',
        headers: { accept: 'application/json' },
      })
    } catch (error) {
      if (error instanceof DOMException && error.name === 'TimeoutError') {
        throw new HttpError('gateway_timeout', 'The enclave did not answer in time')
      }
      throw new HttpError('bad_gateway', 'The enclave is unreachable')
    }
    let body: unknown
    try {
      const text = await response.text()
      if (text.length > MAX_ATTESTATION_BYTES) throw new Error('too large')
      body = JSON.parse(text)
    } catch (error) {
      if (error instanceof DOMException && error.name === 'TimeoutError') {
        throw new HttpError('gateway_timeout', 'The enclave did not answer in time')
      }
      throw new HttpError('bad_gateway', 'The enclave gave an invalid answer')
    }
    const attestation = (body as { attestation?: unknown } | null)?.attestation
    if (response.status !== 200 || typeof attestation !== 'string') {
      throw new HttpError('bad_gateway', 'The enclave gave an invalid answer')
    }
    return reply.header('cache-control', 'no-store').send({ attestation })
  })

  app.get('/enclave/envelopes/:handle', async (request, reply) => {
    const deps = getDeps()
    const handle = (request.params as { handle?: unknown }).handle
    const path = new URL(request.url, 'http://x').pathname
    const caller = await authenticateDpopRequest(
      { method: request.method, url: `${deps.issuer}${path}`, rawHeaders: request.raw.rawHeaders },
      {
        issuer: deps.issuer,
        audience: enclaveResource(deps.issuer),
        keys: deps.keys,
        replay: deps.replay,
        now: deps.now,
        requiredScope: ENVELOPES_SCOPE,
      },
    )
    if (caller.clientId !== ENCLAVE_CLIENT_ID || caller.sub !== ENCLAVE_CLIENT_ID) {
      throw new HttpError('insufficient_scope', 'Only the enclave may read envelopes')
    }
    const record =
      typeof handle === 'string' && HANDLE.test(handle)
        ? await deps.connections.findActiveByHandle(handle)
        : undefined
    if (!record?.envelope || !record.handle) throw new HttpError('not_found', 'Envelope not found')
    return reply.header('cache-control', 'no-store').send({
      handle: record.handle,
      connection_id: record.id,
      name: record.name,
      provider: record.provider,
      owner: record.owner,
      upload_nonce: record.uploadNonce,
      envelope: JSON.parse(record.envelope) as unknown,
    })
  })
}
