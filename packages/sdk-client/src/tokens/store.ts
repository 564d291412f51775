/** Tokens as kept by a {@link TokenStore}. Never log these objects. */
export interface StoredTokens {
  readonly accessToken: string
  readonly tokenType: 'Bearer' | 'DPoP'
  readonly expiresAt?: number
  readonly refreshToken?: string
  /** Scopes the token was requested with (space-delimited). */
  readonly scope?: string
  /** RFC 7638 thumbprint of the DPoP key the tokens are bound to. */
  readonly dpopJkt?: string
}

/** Tokens are kept per authorization server and resource (RFC 8707: one audience per token). */
export interface TokenStoreKey {
  readonly issuer: string
  readonly resource: string
}

/**
 * Where flows keep tokens between calls (and, for the file store of
 * `@dauth/sdk-client/node`, between processes).
 *
 * @example
 * ```ts
 * const store = new MemoryTokenStore()
 * const auth = AuthorizationCodeAuth({ …, tokenStore: store })
 * ```
 */
export interface TokenStore {
  get(key: TokenStoreKey): Promise<StoredTokens | undefined>
  set(key: TokenStoreKey, tokens: StoredTokens): Promise<void>
  delete(key: TokenStoreKey): Promise<void>
}

/** The string a store indexes by: issuer and resource, unambiguously joined. */
export function tokenStoreKeyString(key: TokenStoreKey): string {
  return JSON.stringify([key.issuer, key.resource])
}

/**
 * In-memory {@link TokenStore} (the default): tokens live as long as the process.
 *
 * @example
 * ```ts
 * const store = new MemoryTokenStore()
 * await store.get({ issuer: 'http://localhost:4000', resource: 'http://localhost:4100/mcp' })
 * ```
 */
export class MemoryTokenStore implements TokenStore {
  readonly #entries = new Map<string, StoredTokens>()
  get(key: TokenStoreKey): Promise<StoredTokens | undefined> {
    return Promise.resolve(this.#entries.get(tokenStoreKeyString(key)))
  }
  set(key: TokenStoreKey, tokens: StoredTokens): Promise<void> {
    this.#entries.set(tokenStoreKeyString(key), { ...tokens })
    return Promise.resolve()
  }
  delete(key: TokenStoreKey): Promise<void> {
    this.#entries.delete(tokenStoreKeyString(key))
    return Promise.resolve()
  }
}
