/**
 * `@dauth/enclave/admin`: key administration for the operator CLI (`dauth keys …`), on the
 * state folder's enclave directory. Never loads a private key into the caller beyond the
 * rotation itself (new keys are wrapped by the master key before they are written).
 *
 * @module
 */
import { existsSync, mkdirSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { loadOrCreatePlatformKey } from './launcher/platform.ts'
import { ensureKeyring, readKeyring, retireBoxKey, rotateBoxKeys } from './keys/keyring.ts'
import { createKeyWrapper } from './keys/keyWrapper.ts'
import { masterKeyWrapperConfig } from './keys/masterKey.ts'

export { KeyringError } from './keys/keyring.ts'

const enclaveDir = (stateDir: string): string => join(resolve(stateDir), 'enclave')
const keyDir = (stateDir: string): string => join(enclaveDir(stateDir), 'keys')

/** The enclave's key files, relative to the state folder. */
export const ENCLAVE_KEY_FILES = [
  'enclave/platform.jwk.json',
  'enclave/master.key',
  'enclave/keys/keyring.json',
] as const

/**
 * The keys the enclave would create on its first start — the platform (attestation) signing
 * key, the master key file and a keyring with one box key — made without starting it, for
 * replicas that must share them (a Kubernetes Secret made once). A file that exists is kept.
 * Only for the file master key: with a KMS key wrapper the enclave makes its keyring itself.
 */
export async function initEnclaveKeys(
  stateDir: string,
): Promise<Record<(typeof ENCLAVE_KEY_FILES)[number], 'created' | 'kept'>> {
  const root = resolve(stateDir)
  const existed = ENCLAVE_KEY_FILES.map((file) => existsSync(join(root, file)))
  mkdirSync(enclaveDir(stateDir), { recursive: true, mode: 0o700 })
  await loadOrCreatePlatformKey(enclaveDir(stateDir))
  const wrapper = createKeyWrapper(masterKeyWrapperConfig(enclaveDir(stateDir)))
  try {
    await ensureKeyring(keyDir(stateDir), wrapper)
  } finally {
    wrapper.destroy?.()
  }
  return Object.fromEntries(
    ENCLAVE_KEY_FILES.map((file, i) => [file, existed[i] ? 'kept' : 'created']),
  ) as Record<(typeof ENCLAVE_KEY_FILES)[number], 'created' | 'kept'>
}

/** A new current box key; old kids keep opening envelopes until retired. */
export async function rotateEnclaveKeys(
  stateDir: string,
): Promise<{ current: string; previous: string | undefined }> {
  const wrapper = createKeyWrapper(masterKeyWrapperConfig(enclaveDir(stateDir)))
  try {
    const { kid, previous } = await rotateBoxKeys(keyDir(stateDir), wrapper)
    return { current: kid, previous: previous ?? undefined }
  } finally {
    wrapper.destroy?.()
  }
}

/** Deletes a non-current kid's private key: envelopes sealed to it stop opening. */
export function retireEnclaveKey(stateDir: string, kid: string): void {
  retireBoxKey(keyDir(stateDir), kid)
}

/** The keyring's kids, their status and which is current (no key material). */
export function listEnclaveKeys(stateDir: string): {
  current: string
  keys: { kid: string; status: 'active' | 'retired'; created_at: number }[]
} {
  const keyring = readKeyring(keyDir(stateDir))
  return {
    current: keyring.current,
    keys: keyring.keys.map((k) => ({ kid: k.kid, status: k.status, created_at: k.created_at })),
  }
}
