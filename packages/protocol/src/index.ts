/**
 * `@dauth/protocol`: the wire formats shared by every DAuth component — sealed boxes and
 * credential envelopes, DPoP proofs (RFC 9449), enclave attestation documents,
 * WWW-Authenticate challenges, token claims, and the errors they throw.
 *
 * @module
 */

// encoding
export { base64url } from './encoding/base64url.ts'

// errors
export {
  AttestationError,
  type AttestationErrorCode,
  DAuthError,
  DpopProofError,
  type DpopProofErrorCode,
  EnvelopeError,
  type EnvelopeErrorCode,
  ReplayStoreError,
  type ReplayStoreErrorCode,
  SealedBoxError,
  type SealedBoxErrorCode,
} from './errors.ts'

// secrets
export { SecretBytes } from './secrets/secretBytes.ts'

// sealed box (libsodium crypto_box_seal)
export { BOX_KEY_BYTES, SEAL_BYTES } from './sealedBox/constants.ts'
export { generateBoxKeyPair, openSealedBox, sealBox } from './sealedBox/native.ts'
export { openSealedBoxPortable, sealBoxPortable } from './sealedBox/portable.ts'
export type { BoxKeyPair } from './sealedBox/types.ts'

// credential envelope (ARCHITECTURE.md §2)
export { openCredentialEnvelope } from './envelope/open.ts'
export { sealCredential } from './envelope/seal.ts'
export {
  type CredentialBinding,
  type CredentialEnvelope,
  type CredentialInjection,
  type CredentialPlaintext,
  ENVELOPE_ALG,
} from './envelope/types.ts'
export {
  MAX_ENVELOPE_CT_BYTES,
  parseCredentialBinding,
  parseCredentialEnvelope,
} from './envelope/validate.ts'

// JWS signatures (RFC 7515, RFC 7518 §3, RFC 8037), verified on libuv's thread pool
export { type JwsKeyFamily, jwsKeyFamily, verifyJwsSignature } from './jws/signature.ts'

// DPoP (RFC 9449)
export { normalizeHtu } from './dpop/htu.ts'
export { type DpopKeyPair, generateDpopKeyPair } from './dpop/keys.ts'
export { accessTokenHash, createDpopProof, type DpopProofClaims } from './dpop/proof.ts'
export {
  MemoryReplayStore,
  type MemoryReplayStoreOptions,
  RedisReplayStore,
  type RedisReplayStoreOptions,
  type RedisSetClient,
  type ReplayStore,
} from './dpop/replay.ts'
export { calculateJwkThumbprint } from './dpop/thumbprint.ts'
export {
  DPOP_DEFAULT_ALGORITHMS,
  type VerifiedDpopProof,
  type VerifyDpopProofOptions,
  verifyDpopProof,
} from './dpop/verify.ts'

// enclave attestation (ARCHITECTURE.md §3)
export { sha384Base64url } from './attestation/measurement.ts'
export { signAttestation } from './attestation/sign.ts'
export {
  ATTESTATION_TYP,
  type AttestationDocument,
  type AttestationPolicy,
} from './attestation/types.ts'
export { verifyAttestation } from './attestation/verify.ts'

// WWW-Authenticate (RFC 9110 §11.6.1, RFC 6750 §3, RFC 9449 §7.1)
export {
  type AuthChallenge,
  formatWwwAuthenticate,
  parseWwwAuthenticate,
} from './http/wwwAuthenticate.ts'
// the optional Bearer token of a service's Prometheus /metrics
export { METRICS_REFUSAL, metricsGuard } from './http/metricsGuard.ts'

// claims and constants
export {
  ACCESS_TOKEN_JWT_TYP,
  ACCESS_TOKEN_TYPE,
  type AccessTokenClaims,
  DPOP_PROOF_JWT_TYP,
  ENCLAVE_CLIENT_ID,
  SCOPE_CONNECTIONS_READ,
  SCOPE_CONNECTIONS_WRITE,
  SCOPE_ENVELOPES_READ,
  TOKEN_EXCHANGE_GRANT_TYPE,
} from './claims.ts'
// networking
export { isPublicAddress } from './net/publicAddress.ts'
