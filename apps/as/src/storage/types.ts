import type { ReplayStore } from '@dauth/protocol'

/** A stored oidc-provider model payload (opaque JSON to the store). */
export type ModelPayload = Record<string, unknown>

/**
 * Backing store of the oidc-provider adapter (one table/keyspace for every model).
 * `expiresIn` is seconds from now; undefined = no expiry.
 */
export interface OidcModelStore {
  upsert(
    model: string,
    id: string,
    payload: ModelPayload,
    expiresIn: number | undefined,
  ): Promise<void>
  find(model: string, id: string): Promise<ModelPayload | undefined>
  findByUid(model: string, uid: string): Promise<ModelPayload | undefined>
  findByUserCode(model: string, userCode: string): Promise<ModelPayload | undefined>
  /**
   * Marks the entry consumed, compare-and-set: true only for the one call that consumed it,
   * false when it was consumed already (or is absent). Atomic across instances.
   */
  consume(model: string, id: string): Promise<boolean>
  destroy(model: string, id: string): Promise<void>
  revokeByGrantId(grantId: string): Promise<void>
}

/** Small named values that must persist and be shared by every instance (keys, secrets). */
export interface MetaStore {
  /** Returns the stored value, or atomically stores `create()`'s value when none exists. */
  getOrCreate(name: string, create: () => string): Promise<string>
  /** Compare-and-set: replaces the value only if it still equals `expected`. */
  replace(name: string, expected: string, next: string): Promise<boolean>
}

export type ConnectionStatus = 'pending' | 'active' | 'revoked'

export interface Owner {
  iss: string
  sub: string
}

/** A vault record: metadata and the sealed envelope (ciphertext) only. */
export interface ConnectionRecord {
  id: string
  owner: Owner
  name: string
  provider: string
  status: ConnectionStatus
  uploadNonce: string
  uploadExpiresAt: number
  handle: string | null
  envelope: string | null
  createdAt: number
}

/**
 * What an operator sees of a connection (`dauth connections list`): no envelope and no upload
 * nonce. The allowed hosts and the injection method are inside the sealed envelope, so the AS
 * cannot show them.
 */
export type ConnectionMetadata = Omit<ConnectionRecord, 'envelope' | 'uploadNonce'>

/** Operator filter; every given field must match. */
export interface ConnectionFilter {
  id?: string
  handle?: string
  /** the owner's `sub` (any issuer) */
  ownerSub?: string
  status?: ConnectionStatus
}

export type ActivateResult =
  | { ok: true; record: ConnectionRecord }
  | { ok: false; reason: 'not_found' | 'not_pending' | 'upload_expired' }

export interface ConnectionStore {
  create(record: ConnectionRecord): Promise<void>
  findForOwner(owner: Owner, id: string): Promise<ConnectionRecord | undefined>
  listForOwner(owner: Owner): Promise<ConnectionRecord[]>
  /** Pending → active with the envelope; revokes the owner's other active connection of that name. */
  activate(
    owner: Owner,
    id: string,
    envelope: string,
    handle: string,
    now: number,
  ): Promise<ActivateResult>
  /** Marks the connection revoked; false when the owner has no such connection. */
  revoke(owner: Owner, id: string): Promise<boolean>
  findActiveByHandle(handle: string): Promise<ConnectionRecord | undefined>
  /** `{name: handle}` of the owner's active connections among `names`. */
  activeHandles(owner: Owner, names: readonly string[]): Promise<Record<string, string>>
  /**
   * Operator listing across owners, oldest first. Reads the metadata columns only: the
   * envelope never leaves the database on this path.
   */
  listMetadata(filter: ConnectionFilter): Promise<ConnectionMetadata[]>
}

export interface AccountRecord {
  id: string
  username: string
  passwordHash: string
}

export interface AccountStore {
  findByUsername(username: string): Promise<AccountRecord | undefined>
  findById(id: string): Promise<AccountRecord | undefined>
  /** Creates the account unless the username exists; returns false then. */
  create(record: AccountRecord): Promise<boolean>
}

/** Everything the AS persists. */
export interface Storage {
  readonly kind: 'sqlite' | 'postgres'
  readonly oidc: OidcModelStore
  readonly meta: MetaStore
  readonly connections: ConnectionStore
  readonly accounts: AccountStore
  /** Atomic replay store (unique insert); used for every DPoP `jti`. */
  readonly replay: ReplayStore
  close(): Promise<void>
}
