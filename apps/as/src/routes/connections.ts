import { randomBytes } from 'node:crypto'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { parseCredentialEnvelope, type ReplayStore } from '@dauth/protocol'
import { HttpError } from '../errors.ts'
import type { SigningKeys } from '../keys.ts'
import { connectionsResource } from '../registry/resources.ts'
import type { ConnectionRecord, ConnectionStore, Owner } from '../storage/types.ts'
import { authenticateDpopRequest } from '../tokens/authenticate.ts'

export const UPLOAD_WINDOW_SECONDS = 600
/** RFC 9728 path-aware metadata URL of the vault resource `<issuer>/connections`. */
export const CONNECTIONS_METADATA_PATH = '/.well-known/oauth-protected-resource/connections'
const NAME = /^[a-z0-9][a-z0-9_-]{0,62}$/
const PROVIDER = /^[a-z0-9][a-z0-9._-]{0,62}$/
const CONNECTION_ID = /^conn_[A-Za-z0-9_-]{43}$/

/** Random 256-bit identifiers, base64url, with a type prefix. */
export function randomId(prefix: 'conn_' | 'hdl_' | ''): string {
  return `${prefix}${randomBytes(32).toString('base64url')}`
}

export interface VaultDependencies {
  issuer: string
  keys: SigningKeys
  replay: ReplayStore
  connections: ConnectionStore
  now: () => number
}

function toListItem(record: ConnectionRecord): Record<string, unknown> {
  return {
    connection_id: record.id,
    name: record.name,
    provider: record.provider,
    status: record.status,
    handle: record.status === 'active' ? record.handle : null,
    created_at: record.createdAt,
  }
}

function objectBody(request: FastifyRequest): Record<string, unknown> {
  const body = request.body
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new HttpError('invalid_request', 'Expected a JSON object body')
  }
  return body as Record<string, unknown>
}

function connectionIdParam(request: FastifyRequest): string {
  const id = (request.params as { id?: unknown }).id
  // A malformed id cannot exist: answer exactly like an unknown one.
  if (typeof id !== 'string' || !CONNECTION_ID.test(id))
    throw new HttpError('not_found', 'Connection not found')
  return id
}

/** Connection vault API (ARCHITECTURE.md §1, wire.md "Connection vault"). */
export function registerConnectionRoutes(
  app: FastifyInstance,
  getDeps: () => VaultDependencies,
): void {
  const authenticate = async (request: FastifyRequest, scope: string): Promise<Owner> => {
    const deps = getDeps()
    const path = new URL(request.url, 'http://x').pathname
    const caller = await authenticateDpopRequest(
      { method: request.method, url: `${deps.issuer}${path}`, rawHeaders: request.raw.rawHeaders },
      {
        issuer: deps.issuer,
        audience: connectionsResource(deps.issuer),
        keys: deps.keys,
        replay: deps.replay,
        now: deps.now,
        requiredScope: scope,
        resourceMetadata: `${deps.issuer}${CONNECTIONS_METADATA_PATH}`,
      },
    )
    return { iss: deps.issuer, sub: caller.sub }
  }

  app.get(CONNECTIONS_METADATA_PATH, (_request, reply) => {
    const deps = getDeps()
    void reply.header('cache-control', 'public, max-age=300').send({
      resource: connectionsResource(deps.issuer),
      authorization_servers: [deps.issuer],
      scopes_supported: ['connections:read', 'connections:write'],
      bearer_methods_supported: ['header'],
      dpop_signing_alg_values_supported: ['ES256', 'EdDSA'],
      dpop_bound_access_tokens_required: true,
    })
  })

  app.post('/connections', async (request, reply) => {
    const owner = await authenticate(request, 'connections:write')
    const body = objectBody(request)
    if (typeof body.name !== 'string' || !NAME.test(body.name)) {
      throw new HttpError('invalid_request', 'name must match ^[a-z0-9][a-z0-9_-]{0,62}$')
    }
    if (typeof body.provider !== 'string' || !PROVIDER.test(body.provider)) {
      throw new HttpError('invalid_request', 'provider must match ^[a-z0-9][a-z0-9._-]{0,62}$')
    }
    const deps = getDeps()
    const now = deps.now()
    const record: ConnectionRecord = {
      id: randomId('conn_'),
      owner,
      name: body.name,
      provider: body.provider,
      status: 'pending',
      uploadNonce: randomId(''),
      uploadExpiresAt: now + UPLOAD_WINDOW_SECONDS,
      handle: null,
      envelope: null,
      createdAt: now,
    }
    await deps.connections.create(record)
    return reply.code(201).header('cache-control', 'no-store').send({
      connection_id: record.id,
      upload_nonce: record.uploadNonce,
      expires_at: record.uploadExpiresAt,
      owner,
      status: 'pending',
    })
  })

  app.put('/connections/:id/credential', async (request, reply) => {
    const owner = await authenticate(request, 'connections:write')
    const id = connectionIdParam(request)
    const body = objectBody(request)
    let envelope
    try {
      envelope = parseCredentialEnvelope(body.envelope)
    } catch {
      throw new HttpError('invalid_request', 'envelope is not a valid credential envelope')
    }
    const deps = getDeps()
    const result = await deps.connections.activate(
      owner,
      id,
      JSON.stringify(envelope),
      randomId('hdl_'),
      deps.now(),
    )
    if (!result.ok) {
      switch (result.reason) {
        case 'not_found':
          throw new HttpError('not_found', 'Connection not found')
        case 'not_pending':
          throw new HttpError('conflict', 'The connection is not awaiting a credential')
        case 'upload_expired':
          throw new HttpError('conflict', 'The upload window of this connection has closed')
      }
    }
    return reply.header('cache-control', 'no-store').send({
      handle: result.record.handle,
      name: result.record.name,
      status: 'active',
    })
  })

  app.get('/connections', async (request, reply) => {
    const owner = await authenticate(request, 'connections:read')
    const records = await getDeps().connections.listForOwner(owner)
    return reply.header('cache-control', 'no-store').send({ connections: records.map(toListItem) })
  })

  app.delete('/connections/:id', async (request, reply) => {
    const owner = await authenticate(request, 'connections:write')
    const id = connectionIdParam(request)
    if (!(await getDeps().connections.revoke(owner, id)))
      throw new HttpError('not_found', 'Connection not found')
    return reply.code(204).send()
  })
}
