import { errors, type Adapter, type AdapterPayload } from 'oidc-provider'
import type { OidcModelStore } from './types.ts'

/** Single-use models that carry a grant: a second use revokes that grant. */
const GRANT_SOURCES = new Set([
  'AuthorizationCode',
  'RefreshToken',
  'DeviceCode',
  'BackchannelAuthenticationRequest',
])

/**
 * oidc-provider adapter factory over an {@link OidcModelStore}
 * (one adapter instance per model name, as oidc-provider expects).
 *
 * `consume` is compare-and-set. oidc-provider checks `consumed` and consumes in two steps,
 * so without this, concurrent requests (or two instances) could each redeem one code or
 * refresh one token (a rotated public-client refresh token raced by an attacker would fork
 * the family). The request that loses the race is treated as reuse: the grant is revoked,
 * the same as oidc-provider does for a sequential reuse, and it gets `invalid_grant`.
 */
export function createOidcAdapterFactory(store: OidcModelStore): (model: string) => Adapter {
  return (model: string): Adapter => ({
    upsert: (id: string, payload: AdapterPayload, expiresIn: number) =>
      store.upsert(model, id, payload, Number.isFinite(expiresIn) ? expiresIn : undefined),
    find: async (id: string) => await store.find(model, id),
    findByUid: async (uid: string) => await store.findByUid(model, uid),
    findByUserCode: async (userCode: string) => await store.findByUserCode(model, userCode),
    consume: async (id: string) => {
      if (await store.consume(model, id)) return
      if (model === 'PushedAuthorizationRequest') {
        throw new errors.InvalidRequestUri('request_uri is invalid, expired, or was already used')
      }
      if (!GRANT_SOURCES.has(model)) return
      const grantId = (await store.find(model, id))?.grantId
      if (typeof grantId === 'string') {
        await store.revokeByGrantId(grantId)
        await store.destroy('Grant', grantId)
      }
      throw new errors.InvalidGrant('grant already used')
    },
    destroy: (id: string) => store.destroy(model, id),
    revokeByGrantId: (grantId: string) => store.revokeByGrantId(grantId),
  })
}
