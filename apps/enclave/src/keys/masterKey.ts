import { randomBytes } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { base64url } from '@dauth/protocol'
import type { KeyWrapperConfig } from './keyWrapper.ts'

/**
 * Dev master key: 32 random bytes, base64url, in `<state>/enclave/master.key` (mode 0600,
 * owned by the launcher; the worker cannot read it and receives it over its IPC channel).
 */
export function loadOrCreateMasterKey(path: string): Uint8Array {
  if (!existsSync(path)) {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 })
    const key = randomBytes(32)
    writeFileSync(path, `${base64url.encode(key)}\n`, { mode: 0o600, flag: 'wx' })
    const copy = new Uint8Array(key)
    key.fill(0)
    return copy
  }
  const key = base64url.decode(readFileSync(path, 'utf8').trim())
  if (key.length !== 32) throw new Error('master key file must hold 32 bytes (base64url)')
  return key
}

/** The dev default wrapper: AES-256-GCM under `<enclaveDir>/master.key` (created when missing). */
export function masterKeyWrapperConfig(enclaveDir: string): KeyWrapperConfig {
  const key = loadOrCreateMasterKey(join(enclaveDir, 'master.key'))
  const config: KeyWrapperConfig = { type: 'A256GCM', masterKey: base64url.encode(key) }
  key.fill(0)
  return config
}
