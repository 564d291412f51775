/**
 * `@dauth/as/admin`: what the operator CLI (`dauth`, apps/cli) needs from the AS, opened on
 * the same storage the AS runs on (node:sqlite in the state folder, or `DATABASE_URL`).
 *
 * @module
 */
import { join } from 'node:path'
import type { AuthorizationServerConfig } from './config.ts'
import { SqliteStorage } from './storage/sqlite.ts'
import type { Storage } from './storage/types.ts'

export { createAccount } from './accounts/passwords.ts'
export { issueInitialAccessToken, listConnections, revokeConnection } from './admin.ts'
export type { ConnectionSummary, RevokeConnectionResult } from './admin.ts'
export { rotateSigningKeys } from './keys.ts'
export type { ConnectionStatus, Storage } from './storage/types.ts'

/** Opens the AS's storage for `config` (callers close it). */
export async function openStorage(config: AuthorizationServerConfig): Promise<Storage> {
  if (config.databaseUrl) {
    const { PostgresStorage } = await import('./storage/postgres.ts')
    return PostgresStorage.connect(config.databaseUrl)
  }
  return new SqliteStorage(join(config.stateDir, 'as.sqlite'))
}
