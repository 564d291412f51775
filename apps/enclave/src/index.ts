/**
 * `@dauth/enclave`: the sealed-execution service (ARCHITECTURE.md §3). A launcher process
 * serves the loopback API and attestation; an isolated worker process opens credential
 * envelopes and makes the upstream call.
 *
 * @module
 */
export { startEnclave } from './launcher/start.ts'
export type { RunningEnclave, StartOptions } from './launcher/start.ts'
export {
  enclaveConfigFromEnv,
  DEFAULT_ISSUER,
  DEFAULT_PORT,
  DEFAULT_REPLAY_KEY_PREFIX,
} from './config.ts'
export type { EnclaveConfig } from './config.ts'
export { enclaveEnvSchema } from './envSchema.ts'
export { ENCLAVE_ERRORS, DPOP_CHALLENGE } from './errors.ts'
export type { EnclaveErrorCode } from './errors.ts'
export { AesGcmKeyWrapper, KeyWrapError, createKeyWrapper } from './keys/keyWrapper.ts'
export type { KeyWrapper, KeyWrapperConfig, WrappedKey } from './keys/keyWrapper.ts'
export {
  BoxKeyCache,
  KeyringError,
  boxKeyId,
  currentBoxPublicKey,
  ensureKeyring,
  readKeyring,
  retireBoxKey,
  rotateBoxKeys,
} from './keys/keyring.ts'
export type { KeyringEntry, KeyringFile } from './keys/keyring.ts'
export { loadOrCreateMasterKey, masterKeyWrapperConfig } from './keys/masterKey.ts'
