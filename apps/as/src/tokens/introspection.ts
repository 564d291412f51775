import { errors as joseErrors, jwtVerify } from 'jose'
import type Provider from 'oidc-provider'
import type { SigningKeys } from '../keys.ts'
import type { ResourceRegistry } from '../registry/resources.ts'
import type { AccountStore, OidcModelStore } from '../storage/types.ts'

/**
 * Model name under which every JWT access token issued from a grant (authorization code,
 * refresh) is recorded, by `jti` with its `grantId`. oidc-provider keeps no state for
 * JWT-format access tokens, so without this record a revoked grant (refresh-token reuse,
 * RFC 7009 revocation of the refresh token, code reuse) could not be seen at introspection.
 * The record lives in the oidc model table, so oidc-provider's own `revokeByGrantId`
 * deletes it with the family. Client-credentials tokens have no grant, nothing can revoke
 * them, and they are not recorded: that keeps their issuance (the hot path) at one write.
 */
export const ISSUED_JWT_MODEL = 'IssuedJwtAccessToken'

interface IssuedRecord {
  grantId: string
  clientId: string
  accountId?: string
  exp: number
}

/** Records an access token about to be issued (awaited before the token leaves the AS). */
export async function recordIssuedJwt(
  store: OidcModelStore,
  token: {
    jti?: string | undefined
    grantId?: string | undefined
    clientId?: string | undefined
    accountId?: string | undefined
  },
  exp: number,
  now: number,
): Promise<void> {
  if (!token.jti || !token.clientId || !token.grantId) return
  const record: IssuedRecord = { clientId: token.clientId, grantId: token.grantId, exp }
  if (token.accountId) record.accountId = token.accountId
  await store.upsert(ISSUED_JWT_MODEL, token.jti, { ...record }, Math.max(1, exp - now))
}

const INACTIVE = { active: false } as const

/**
 * Who may learn about a token at the introspection endpoint: the client it was issued to,
 * or, for access tokens, the resource server it is for (a client listed in that resource's
 * `dispatchClients`, i.e. the MCP server). oidc-provider's default lets every confidential
 * client introspect every token, which with open DCR would let anyone read anyone's claims.
 */
export function mayIntrospect(
  registry: ResourceRegistry,
  callerId: string,
  token: { clientId: string | undefined; aud: unknown; refresh: boolean },
): boolean {
  if (token.clientId !== undefined && callerId === token.clientId) return true
  if (token.refresh || typeof token.aud !== 'string') return false
  return registry.get(token.aud)?.dispatchClients.includes(callerId) === true
}

/**
 * RFC 7662 for the AS's RFC 9068 JWT access tokens. oidc-provider refuses to introspect
 * structured tokens (`unsupported_token_type`) after authenticating the caller; this answers
 * instead: active only when the signature (current or retired AS key), `iss`, `typ` and
 * `exp` verify and, for a token issued from a grant, its issuance record and the grant
 * still exist (i.e. the family was not revoked); the caller must pass {@link mayIntrospect}.
 */
export async function introspectJwtAccessToken(
  caller: { clientId: string },
  deps: {
    provider: Provider
    registry: ResourceRegistry
    issuer: string
    keys: SigningKeys
    store: OidcModelStore
    accounts: AccountStore
    now: () => number
  },
  token: string,
): Promise<Record<string, unknown>> {
  let claims: Record<string, unknown>
  try {
    const verified = await jwtVerify(token, deps.keys.verificationKeys, {
      issuer: deps.issuer,
      typ: 'at+jwt',
      algorithms: ['ES256'],
      currentDate: new Date(deps.now() * 1000),
    })
    claims = verified.payload
  } catch (error) {
    if (error instanceof joseErrors.JOSEError || error instanceof TypeError) return INACTIVE
    throw error
  }
  const jti = claims.jti
  if (typeof jti !== 'string') return INACTIVE
  const record = (await deps.store.find(ISSUED_JWT_MODEL, jti)) as IssuedRecord | undefined
  if (record) {
    if (record.clientId !== claims.client_id) return INACTIVE
    // Also covers a grant destroyed without its tokens' records.
    const grant = await deps.provider.Grant.find(record.grantId)
    if (!grant || grant.clientId !== record.clientId) return INACTIVE
  } else {
    // No record: only a client-credentials token (sub = client_id, not a user) may be
    // active; a user's token without its record belongs to a revoked grant.
    const sub = claims.sub
    if (typeof sub !== 'string' || sub !== claims.client_id) return INACTIVE
    if (await deps.accounts.findById(sub)) return INACTIVE
  }
  const clientId = typeof claims.client_id === 'string' ? claims.client_id : undefined
  if (!mayIntrospect(deps.registry, caller.clientId, { clientId, aud: claims.aud, refresh: false }))
    return INACTIVE
  const cnf = claims.cnf as { jkt?: unknown } | undefined
  return {
    active: true,
    iss: claims.iss,
    sub: claims.sub,
    aud: claims.aud,
    client_id: claims.client_id,
    scope: claims.scope,
    exp: claims.exp,
    iat: claims.iat,
    jti,
    token_type: cnf?.jkt ? 'DPoP' : 'Bearer',
    ...(cnf ? { cnf } : {}),
  }
}
