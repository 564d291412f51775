/**
 * An X25519 key pair for sealed boxes (libsodium `crypto_box_keypair` layout):
 * 32-byte raw public key and 32-byte raw secret scalar.
 */
export interface BoxKeyPair {
  /** 32-byte raw X25519 public key. */
  publicKey: Uint8Array
  /** 32-byte raw X25519 secret key. Zero it when retired. */
  secretKey: Uint8Array
}
