import type { ReplayStore } from '@dauth/protocol'
import { asStorageError } from '../errors.ts'
import type { Storage } from './types.ts'

/** Every method of `store`, with outages (see `isStorageOutage`) as `StorageUnavailableError`. */
export function guardStore<T extends object>(store: T): T {
  return new Proxy(store, {
    get(target, property, receiver): unknown {
      const value: unknown = Reflect.get(target, property, receiver)
      if (typeof value !== 'function') return value
      const method = value as (...args: unknown[]) => unknown
      return async (...args: unknown[]): Promise<unknown> => {
        try {
          return await method.apply(target, args)
        } catch (error) {
          throw asStorageError(error)
        }
      }
    },
  })
}

/** `storage` whose stores fail with `StorageUnavailableError` when the backend is away. */
export function guardStorage(storage: Storage): Storage {
  return {
    kind: storage.kind,
    oidc: guardStore(storage.oidc),
    meta: guardStore(storage.meta),
    connections: guardStore(storage.connections),
    accounts: guardStore(storage.accounts),
    replay: guardStore<ReplayStore>(storage.replay),
    close: () => storage.close(),
  }
}
