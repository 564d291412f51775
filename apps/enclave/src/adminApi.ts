/**
 * `@dauth/enclave/admin`: key administration for the operator CLI (`dauth keys …`), on the
 * state folder's enclave directory. Never loads a private key into the caller beyond the
 * rotation itself (new keys are wrapped by the master key before they are written).
 *
 * @module
 */
import { join, resolve } from 'node:path'
import { readKeyring, retireBoxKey, rotateBoxKeys } from './keys/keyring.ts'
import { createKeyWrapper } from './keys/keyWrapper.ts'
import { masterKeyWrapperConfig } from './keys/masterKey.ts'

export { KeyringError } from './keys/keyring.ts'

const enclaveDir = (stateDir: string): string => join(resolve(stateDir), 'enclave')
const keyDir = (stateDir: string): string => join(enclaveDir(stateDir), 'keys')

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
