/**
 * JWS signature verification (RFC 7515 §5.2) for the asymmetric algorithms of RFC 7518 §3 and
 * RFC 8037, on node:crypto keys, run on libuv's thread pool.
 *
 * Why the thread pool and not a synchronous `crypto.verify`: in a busy server an ES256 verify
 * on the event loop cost ~95 µs (the server's own work between requests evicts the curve
 * tables from the core's caches), against ~60 µs in a tight loop. On a pool thread that does
 * nothing but verify it stays near the tight-loop cost, and the event loop serves other
 * requests meanwhile. Measured with `pnpm --filter @dauth/bench bench:rs` (same run, same
 * settings, twice each way): server CPU per authorized `tools/call` 470–478 µs synchronous,
 * 388–398 µs here. The price is one hop to the pool and back per signature (~40 µs of
 * latency, and the wake-ups of a sleeping pool thread): with nothing else to do meanwhile —
 * one request at a time — a caller should pass `{ offload: false }` and verify in place.
 *
 * @module
 */
import { constants, verify as cryptoVerify, type KeyObject } from 'node:crypto'

/** Key type an algorithm needs (`KeyObject.asymmetricKeyType` families). */
export type JwsKeyFamily = 'ec' | 'okp' | 'rsa'

interface JwsAlgorithm {
  family: JwsKeyFamily
  /** node:crypto digest name; `null` for EdDSA (the algorithm hashes internally). */
  hash: string | null
  /** Exact signature length in bytes where the algorithm fixes it (ECDSA: R || S, RFC 7518 §3.4). */
  length?: number
  /** The only curves (node:crypto names) the algorithm may be used with (RFC 7518 §3.4, RFC 8037). */
  curves?: readonly string[]
  /** RSASSA-PSS with MGF1 and a salt as long as the hash (RFC 7518 §3.5). */
  pssSaltLength?: number
}

// What this module implements. `none` and HS* (symmetric) are absent on purpose: a token or
// proof naming them can never verify here, whatever a caller's allow-list says.
const ALGORITHMS: Readonly<Record<string, JwsAlgorithm>> = {
  ES256: { family: 'ec', hash: 'sha256', length: 64, curves: ['prime256v1'] },
  ES384: { family: 'ec', hash: 'sha384', length: 96, curves: ['secp384r1'] },
  ES512: { family: 'ec', hash: 'sha512', length: 132, curves: ['secp521r1'] },
  EdDSA: { family: 'okp', hash: null, curves: ['ed25519', 'ed448'] },
  Ed25519: { family: 'okp', hash: null, length: 64, curves: ['ed25519'] },
  RS256: { family: 'rsa', hash: 'sha256' },
  RS384: { family: 'rsa', hash: 'sha384' },
  RS512: { family: 'rsa', hash: 'sha512' },
  PS256: { family: 'rsa', hash: 'sha256', pssSaltLength: 32 },
  PS384: { family: 'rsa', hash: 'sha384', pssSaltLength: 48 },
  PS512: { family: 'rsa', hash: 'sha512', pssSaltLength: 64 },
}

/** The key family `alg` needs, or `undefined` when this module does not implement `alg`. */
export function jwsKeyFamily(alg: string): JwsKeyFamily | undefined {
  return Object.hasOwn(ALGORITHMS, alg) ? ALGORITHMS[alg]?.family : undefined
}

/**
 * Checks `signature` over `signingInput` (the ASCII `header.payload`) with `key` for `alg`.
 * Resolves `false` — never rejects — for an unknown algorithm, a key of the wrong type, a
 * signature of the wrong length or a signature that does not verify. On libuv's thread pool
 * unless `options.offload` is `false`.
 *
 * @example
 * ```ts
 * const ok = await verifyJwsSignature('ES256', key, Buffer.from(`${h}.${p}`), signature)
 * ```
 */
export function verifyJwsSignature(
  alg: string,
  key: KeyObject,
  signingInput: Uint8Array,
  signature: Uint8Array,
  options: { offload?: boolean } = {},
): Promise<boolean> {
  const spec = Object.hasOwn(ALGORITHMS, alg) ? ALGORITHMS[alg] : undefined
  if (spec === undefined || !keyFits(spec, key)) return Promise.resolve(false)
  if (spec.length !== undefined && signature.length !== spec.length) return Promise.resolve(false)
  const keyInput =
    spec.family === 'ec'
      ? { key, dsaEncoding: 'ieee-p1363' as const }
      : spec.pssSaltLength !== undefined
        ? { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: spec.pssSaltLength }
        : key
  if (options.offload === false) {
    try {
      return Promise.resolve(cryptoVerify(spec.hash, signingInput, keyInput, signature))
    } catch {
      return Promise.resolve(false)
    }
  }
  return new Promise((resolve) => {
    try {
      cryptoVerify(spec.hash, signingInput, keyInput, signature, (error, valid) =>
        resolve(error === null && valid),
      )
    } catch {
      // A malformed key or input throws synchronously: it simply does not verify.
      resolve(false)
    }
  })
}

const curves = new WeakMap<KeyObject, string>()

/** The key's type and curve fit the algorithm: an ES256 signature never verifies with a P-384 key. */
function keyFits(spec: JwsAlgorithm, key: KeyObject): boolean {
  if (key.type !== 'public') return false
  const type = key.asymmetricKeyType
  if (spec.family === 'rsa') return type === 'rsa' || type === 'rsa-pss'
  let curve = curves.get(key)
  if (curve === undefined) {
    // asymmetricKeyDetails is computed afresh by every read: remember it per key object.
    curve = (type === 'ec' ? key.asymmetricKeyDetails?.namedCurve : type) ?? ''
    curves.set(key, curve)
  }
  return spec.curves?.includes(curve) ?? false
}
