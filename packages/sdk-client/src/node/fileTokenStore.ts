import { mkdir, readFile, rename, writeFile } from 'node:fs/promises'
import { dirname } from 'node:path'
import {
  tokenStoreKeyString,
  type StoredTokens,
  type TokenStore,
  type TokenStoreKey,
} from '../tokens/store.ts'

/**
 * A {@link TokenStore} in one JSON file, written atomically with mode 0600 (its directory
 * is created 0700). Suits CLIs that keep refresh tokens between runs. Never log its content.
 *
 * @example
 * ```ts
 * const store = new FileTokenStore(join(homedir(), '.config', 'my-cli', 'tokens.json'))
 * ```
 */
export class FileTokenStore implements TokenStore {
  readonly #path: string
  #queue: Promise<unknown> = Promise.resolve()

  constructor(path: string) {
    this.#path = path
  }

  async #read(): Promise<Record<string, StoredTokens>> {
    let text: string
    try {
      text = await readFile(this.#path, 'utf8')
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return {}
      throw error
    }
    const parsed: unknown = JSON.parse(text)
    return typeof parsed === 'object' && parsed !== null
      ? (parsed as Record<string, StoredTokens>)
      : {}
  }

  async #write(entries: Record<string, StoredTokens>): Promise<void> {
    await mkdir(dirname(this.#path), { recursive: true, mode: 0o700 })
    const temp = `${this.#path}.${process.pid}.${Date.now()}.tmp`
    await writeFile(temp, JSON.stringify(entries), { mode: 0o600 })
    await rename(temp, this.#path)
  }

  /** Serialises read-modify-write cycles within this process. */
  #serial<T>(task: () => Promise<T>): Promise<T> {
    const next = this.#queue.then(task, task)
    this.#queue = next.catch(() => undefined)
    return next
  }

  get(key: TokenStoreKey): Promise<StoredTokens | undefined> {
    return this.#serial(async () => (await this.#read())[tokenStoreKeyString(key)])
  }

  set(key: TokenStoreKey, tokens: StoredTokens): Promise<void> {
    return this.#serial(async () => {
      const entries = await this.#read()
      entries[tokenStoreKeyString(key)] = tokens
      await this.#write(entries)
    })
  }

  delete(key: TokenStoreKey): Promise<void> {
    return this.#serial(async () => {
      const entries = await this.#read()
      if (!(tokenStoreKeyString(key) in entries)) return
      delete entries[tokenStoreKeyString(key)]
      await this.#write(entries)
    })
  }
}
