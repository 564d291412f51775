import Provider from 'oidc-provider'
import { loadSigningKeys } from './keys.ts'
import { createOidcAdapterFactory } from './storage/oidcAdapter.ts'
import type {
  ConnectionFilter,
  ConnectionMetadata,
  ConnectionStatus,
  ConnectionStore,
  Owner,
  Storage,
} from './storage/types.ts'

/**
 * Issues an RFC 7591 initial access token (needed for dynamic registration when
 * `DAUTH_DEV` is not set). Stored through the same storage the AS uses; returns the
 * token value, shown once.
 */
export async function issueInitialAccessToken(
  storage: Storage,
  issuer: string,
  expiresIn = 86400,
): Promise<string> {
  const keys = await loadSigningKeys(storage.meta)
  const provider = new Provider(issuer, {
    adapter: createOidcAdapterFactory(storage.oidc),
    jwks: keys.privateJwks,
    clientDefaults: { id_token_signed_response_alg: 'ES256' },
    features: {
      devInteractions: { enabled: false },
      registration: { enabled: true, initialAccessToken: true },
    },
  })
  return new provider.InitialAccessToken({ expiresIn }).save()
}

/** One connection as `dauth connections list` prints it: metadata only, never the envelope. */
export interface ConnectionSummary {
  connection_id: string
  /** the dispatch handle (kept after revocation, to match it in logs); null until uploaded */
  handle: string | null
  owner: Owner
  name: string
  provider: string
  status: ConnectionStatus
  /** seconds since the epoch */
  created_at: number
  /** pending connections only: when the upload window closes (seconds since the epoch) */
  upload_expires_at?: number
}

function toSummary(record: ConnectionMetadata): ConnectionSummary {
  return {
    connection_id: record.id,
    handle: record.handle,
    owner: { iss: record.owner.iss, sub: record.owner.sub },
    name: record.name,
    provider: record.provider,
    status: record.status,
    created_at: record.createdAt,
    ...(record.status === 'pending' ? { upload_expires_at: record.uploadExpiresAt } : {}),
  }
}

/** Every owner's connections matching `filter`, oldest first (operator view). */
export async function listConnections(
  connections: ConnectionStore,
  filter: Omit<ConnectionFilter, 'id' | 'handle'> = {},
): Promise<ConnectionSummary[]> {
  return (await connections.listMetadata(filter)).map(toSummary)
}

export type RevokeConnectionResult =
  | { ok: true; connection: ConnectionSummary; previousStatus: ConnectionStatus }
  | { ok: false; reason: 'not_found' }

/**
 * Revokes a connection by id (`conn_…`) or handle (`hdl_…`) on behalf of its owner, through
 * the same `ConnectionStore.revoke(owner, id)` the vault's `DELETE /connections/:id` uses: the
 * enclave's next envelope fetch and every token exchange for its handle are refused from then on.
 * Revoking a revoked connection is a no-op that succeeds (like the vault's repeated DELETE).
 */
export async function revokeConnection(
  connections: ConnectionStore,
  idOrHandle: string,
): Promise<RevokeConnectionResult> {
  const filter = idOrHandle.startsWith('hdl_') ? { handle: idOrHandle } : { id: idOrHandle }
  const [record] = await connections.listMetadata(filter)
  if (!record || !(await connections.revoke(record.owner, record.id)))
    return { ok: false, reason: 'not_found' }
  return {
    ok: true,
    connection: toSummary({ ...record, status: 'revoked' }),
    previousStatus: record.status,
  }
}
