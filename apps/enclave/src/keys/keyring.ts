import { createHash } from 'node:crypto'
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  readFileSync,
  renameSync,
  statSync,
  writeFileSync,
} from 'node:fs'
import { join } from 'node:path'
import { base64url, generateBoxKeyPair } from '@dauth/protocol'
import type { BoxKeyPair } from '@dauth/protocol'
import type { KeyWrapper, WrappedKey } from './keyWrapper.ts'

/**
 * The box-key ring: X25519 key pairs with key ids, private halves wrapped at rest.
 * File `<state>/enclave/keys/keyring.json`:
 * `{"v":1,"current":"<kid>","keys":[{"kid","public_key","created_at","status":"active"|"retired","retired_at"?,"wrapped_secret_key"?}]}`.
 * Retiring a kid deletes its wrapped private key (crypto-shredding): envelopes sealed to it
 * can never be opened again.
 */
export interface KeyringEntry {
  kid: string
  public_key: string
  created_at: number
  status: 'active' | 'retired'
  retired_at?: number
  wrapped_secret_key?: WrappedKey
}

export interface KeyringFile {
  v: 1
  current: string
  keys: KeyringEntry[]
}

export const KEYRING_FILE = 'keyring.json'

export class KeyringError extends Error {
  readonly code:
    | 'ERR_KEYRING_MISSING'
    | 'ERR_KEYRING_MALFORMED'
    | 'ERR_KEYRING_UNKNOWN_KID'
    | 'ERR_KEYRING_CURRENT'
  constructor(code: KeyringError['code'], message: string) {
    super(message)
    this.name = 'KeyringError'
    this.code = code
  }
}

/** Key id of a box public key: `x25519-` + the first 16 base64url chars of SHA-256(pk). */
export function boxKeyId(publicKey: Uint8Array): string {
  return `x25519-${base64url.encode(createHash('sha256').update(publicKey).digest()).slice(0, 16)}`
}

export function keyringPath(keyDir: string): string {
  return join(keyDir, KEYRING_FILE)
}

export function readKeyring(keyDir: string): KeyringFile {
  const path = keyringPath(keyDir)
  if (!existsSync(path)) throw new KeyringError('ERR_KEYRING_MISSING', 'keyring file is missing')
  let value: unknown
  try {
    value = JSON.parse(readFileSync(path, 'utf8'))
  } catch {
    throw new KeyringError('ERR_KEYRING_MALFORMED', 'keyring file is not JSON')
  }
  if (!isKeyring(value))
    throw new KeyringError('ERR_KEYRING_MALFORMED', 'keyring file has the wrong shape')
  return value
}

function isKeyring(value: unknown): value is KeyringFile {
  if (typeof value !== 'object' || value === null) return false
  const v = value as Partial<KeyringFile>
  if (v.v !== 1 || typeof v.current !== 'string' || !Array.isArray(v.keys)) return false
  return v.keys.every(
    (k: Partial<KeyringEntry>) =>
      typeof k.kid === 'string' &&
      typeof k.public_key === 'string' &&
      (k.status === 'active' || k.status === 'retired'),
  )
}

/** Who may read the key folder besides the owner (the worker's gid), if privileges are dropped. */
export interface KeyFolderAccess {
  gid?: number
}

/** Writes the keyring atomically (temp file + rename), readable by the worker's group only. */
export function writeKeyring(
  keyDir: string,
  keyring: KeyringFile,
  access: KeyFolderAccess = {},
): void {
  ensureKeyDir(keyDir, access)
  const path = keyringPath(keyDir)
  const tmp = `${path}.${process.pid}.tmp`
  writeFileSync(tmp, `${JSON.stringify(keyring, null, 2)}\n`, { mode: 0o600 })
  if (access.gid !== undefined) {
    chownSync(tmp, process.getuid?.() ?? 0, access.gid)
    chmodSync(tmp, 0o640)
  }
  renameSync(tmp, path)
}

export function ensureKeyDir(keyDir: string, access: KeyFolderAccess = {}): void {
  mkdirSync(keyDir, { recursive: true, mode: 0o700 })
  if (access.gid !== undefined) {
    chownSync(keyDir, process.getuid?.() ?? 0, access.gid)
    chmodSync(keyDir, 0o750)
    if (existsSync(keyringPath(keyDir))) {
      chownSync(keyringPath(keyDir), process.getuid?.() ?? 0, access.gid)
      chmodSync(keyringPath(keyDir), 0o640)
    }
  }
}

async function newEntry(wrapper: KeyWrapper, now: number): Promise<KeyringEntry> {
  const pair = generateBoxKeyPair()
  try {
    const kid = boxKeyId(pair.publicKey)
    return {
      kid,
      public_key: base64url.encode(pair.publicKey),
      created_at: now,
      status: 'active',
      wrapped_secret_key: await wrapper.wrap(pair.secretKey, kid),
    }
  } finally {
    pair.secretKey.fill(0)
  }
}

/** Creates the keyring with one key when it does not exist yet; returns it. */
export async function ensureKeyring(
  keyDir: string,
  wrapper: KeyWrapper,
  access: KeyFolderAccess = {},
  now = Math.floor(Date.now() / 1000),
): Promise<KeyringFile> {
  if (existsSync(keyringPath(keyDir))) {
    ensureKeyDir(keyDir, access)
    return readKeyring(keyDir)
  }
  const entry = await newEntry(wrapper, now)
  const keyring: KeyringFile = { v: 1, current: entry.kid, keys: [entry] }
  writeKeyring(keyDir, keyring, access)
  return keyring
}

/**
 * Rotation: a new key pair becomes `current` (what attestation advertises, what clients seal
 * to); earlier kids stay able to open envelopes until {@link retireBoxKey}.
 */
export async function rotateBoxKeys(
  keyDir: string,
  wrapper: KeyWrapper,
  access: KeyFolderAccess = {},
  now = Math.floor(Date.now() / 1000),
): Promise<{ kid: string; previous: string }> {
  const keyring = readKeyring(keyDir)
  const entry = await newEntry(wrapper, now)
  const previous = keyring.current
  keyring.keys.push(entry)
  keyring.current = entry.kid
  writeKeyring(keyDir, keyring, access)
  return { kid: entry.kid, previous }
}

/** Retires a kid: its wrapped private key is deleted; the current kid cannot be retired. */
export function retireBoxKey(
  keyDir: string,
  kid: string,
  access: KeyFolderAccess = {},
  now = Math.floor(Date.now() / 1000),
): void {
  const keyring = readKeyring(keyDir)
  const entry = keyring.keys.find((k) => k.kid === kid)
  if (!entry) throw new KeyringError('ERR_KEYRING_UNKNOWN_KID', 'no such key id')
  if (keyring.current === kid)
    throw new KeyringError('ERR_KEYRING_CURRENT', 'the current key cannot be retired; rotate first')
  entry.status = 'retired'
  entry.retired_at = now
  delete entry.wrapped_secret_key
  writeKeyring(keyDir, keyring, access)
}

/** The current key's kid and public key (what attestation documents advertise). */
export function currentBoxPublicKey(keyring: KeyringFile): { kid: string; publicKey: Uint8Array } {
  const entry = keyring.keys.find((k) => k.kid === keyring.current && k.status === 'active')
  if (!entry) throw new KeyringError('ERR_KEYRING_MALFORMED', 'current key missing')
  return { kid: entry.kid, publicKey: base64url.decode(entry.public_key) }
}

/**
 * Worker-side cache of unwrapped key pairs, reloaded when the keyring file changes
 * (a rotation or retirement by the CLI takes effect without a restart).
 */
export class BoxKeyCache {
  readonly #keyDir: string
  readonly #wrapper: KeyWrapper
  #stamp = ''
  #pairs = new Map<string, BoxKeyPair>()

  constructor(keyDir: string, wrapper: KeyWrapper) {
    this.#keyDir = keyDir
    this.#wrapper = wrapper
  }

  async refresh(): Promise<void> {
    const st = statSync(keyringPath(this.#keyDir), { bigint: true })
    const stamp = `${st.ino}:${st.mtimeNs}:${st.size}`
    if (stamp === this.#stamp) return
    const keyring = readKeyring(this.#keyDir)
    const next = new Map<string, BoxKeyPair>()
    for (const entry of keyring.keys) {
      if (entry.status !== 'active' || !entry.wrapped_secret_key) continue
      const old = this.#pairs.get(entry.kid)
      if (old) {
        next.set(entry.kid, old)
        continue
      }
      const secretKey = await this.#wrapper.unwrap(entry.wrapped_secret_key, entry.kid)
      next.set(entry.kid, { publicKey: base64url.decode(entry.public_key), secretKey })
    }
    for (const [kid, pair] of this.#pairs) if (!next.has(kid)) pair.secretKey.fill(0)
    this.#pairs = next
    this.#stamp = stamp
  }

  /** Synchronous lookup for `openCredentialEnvelope`; undefined for unknown or retired kids. */
  get(kid: string): BoxKeyPair | undefined {
    return this.#pairs.get(kid)
  }
}
