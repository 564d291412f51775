/**
 * @dauth/sdk-client/node — Node-only helpers: the loopback redirect listener (RFC 8252),
 * a file token store (mode 0600) and the attestation policy loader.
 */
export { loadAttestationPolicy } from './node/attestationPolicy.ts'
export { FileTokenStore } from './node/fileTokenStore.ts'
export {
  startLoopbackRedirectListener,
  type LoopbackRedirectListener,
  type LoopbackRedirectListenerOptions,
} from './node/loopback.ts'
