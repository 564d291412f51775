import type { Adapter, AdapterPayload } from 'oidc-provider'
import type { OidcModelStore } from './types.ts'

/**
 * oidc-provider adapter factory over an {@link OidcModelStore}
 * (one adapter instance per model name, as oidc-provider expects).
 */
export function createOidcAdapterFactory(store: OidcModelStore): (model: string) => Adapter {
  return (model: string): Adapter => ({
    upsert: (id: string, payload: AdapterPayload, expiresIn: number) =>
      store.upsert(model, id, payload, Number.isFinite(expiresIn) ? expiresIn : undefined),
    find: async (id: string) => await store.find(model, id),
    findByUid: async (uid: string) => await store.findByUid(model, uid),
    findByUserCode: async (userCode: string) => await store.findByUserCode(model, userCode),
    consume: (id: string) => store.consume(model, id),
    destroy: (id: string) => store.destroy(model, id),
    revokeByGrantId: (grantId: string) => store.revokeByGrantId(grantId),
  })
}
