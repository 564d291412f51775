/**
 * Key administration:
 *   node apps/enclave/src/cli.ts rotate-keys         new current box key (old kids still open)
 *   node apps/enclave/src/cli.ts retire-key <kid>    delete a non-current kid's private key
 *   node apps/enclave/src/cli.ts list-keys           kids, status, current
 * Reads DAUTH_STATE_DIR. A running enclave picks the change up on its next dispatch
 * (the worker reloads the keyring when the file changes).
 */
import { join, resolve } from 'node:path'
import { KeyringError, readKeyring, retireBoxKey, rotateBoxKeys } from './keys/keyring.ts'
import { createKeyWrapper } from './keys/keyWrapper.ts'
import { masterKeyWrapperConfig } from './keys/masterKey.ts'

const stateDir = resolve(
  process.env.DAUTH_STATE_DIR || join(import.meta.dirname, '../../../.dauth'),
)
const enclaveDir = join(stateDir, 'enclave')
const keyDir = join(enclaveDir, 'keys')

const [command, arg] = process.argv.slice(2)
try {
  switch (command) {
    case 'rotate-keys': {
      const wrapper = createKeyWrapper(masterKeyWrapperConfig(enclaveDir))
      const { kid, previous } = await rotateBoxKeys(keyDir, wrapper)
      wrapper.destroy?.()
      process.stdout.write(`${JSON.stringify({ current: kid, previous })}\n`)
      break
    }
    case 'retire-key':
      if (!arg) throw new KeyringError('ERR_KEYRING_UNKNOWN_KID', 'usage: retire-key <kid>')
      retireBoxKey(keyDir, arg)
      process.stdout.write(`${JSON.stringify({ retired: arg })}\n`)
      break
    case 'list-keys': {
      const keyring = readKeyring(keyDir)
      const keys = keyring.keys.map((k) => ({
        kid: k.kid,
        status: k.status,
        created_at: k.created_at,
      }))
      process.stdout.write(`${JSON.stringify({ current: keyring.current, keys })}\n`)
      break
    }
    default:
      process.stderr.write('usage: cli.ts rotate-keys | retire-key <kid> | list-keys\n')
      process.exit(2)
  }
} catch (error) {
  process.stderr.write(
    `${error instanceof KeyringError ? `${error.code}: ${error.message}` : 'failed'}\n`,
  )
  process.exit(1)
}
