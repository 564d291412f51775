import { type KeyObject, type JsonWebKey as NodeJsonWebKey, createPublicKey } from 'node:crypto'
import { DpopProofError, type DpopProofErrorCode } from '../errors.ts'
import { verifyJwsSignature } from '../jws/signature.ts'
import { normalizeHtu } from './htu.ts'
import { accessTokenHash } from './proof.ts'
import type { ReplayStore } from './replay.ts'
import { jwkThumbprintSync } from './thumbprint.ts'

/** Algorithms accepted when {@link VerifyDpopProofOptions.algorithms} is not given. */
export const DPOP_DEFAULT_ALGORITHMS: readonly string[] = Object.freeze(['ES256', 'EdDSA'])

interface AlgorithmSpec {
  kty: 'EC' | 'OKP'
  curves: readonly string[]
}

// What this verifier implements. An algorithm in options.algorithms but not here is refused;
// `none`, HS* (symmetric) and anything else can never be accepted.
const SPECS: Record<string, AlgorithmSpec> = {
  ES256: { kty: 'EC', curves: ['P-256'] },
  ES384: { kty: 'EC', curves: ['P-384'] },
  ES512: { kty: 'EC', curves: ['P-521'] },
  EdDSA: { kty: 'OKP', curves: ['Ed25519', 'Ed448'] },
  Ed25519: { kty: 'OKP', curves: ['Ed25519'] },
}

// RFC 7517/7518 private and symmetric members: a proof's jwk must carry none of them.
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'] as const
const B64URL = /^[A-Za-z0-9_-]+$/
const MAX_PROOF_LENGTH = 8192
const MAX_CACHED_KEYS = 10_000

/** Imported public keys by thumbprint; bounded (oldest dropped) — it only saves work. */
const keyCache = new Map<string, KeyObject>()

/** What a protected header that passed every header check yields. */
interface CheckedHeader {
  alg: string
  jwk: JsonWebKey
  jkt: string
  key: KeyObject
}

// A client signs every proof with the same header (typ, alg, jwk), so the base64url header
// segment repeats byte for byte: the same bytes always decode and check the same way, and
// remembering the outcome skips a JSON parse, the JWK checks and a SHA-256 per proof. Only
// headers that passed are kept, only short ones (an EC or OKP header is ~250 characters), and
// the allow-list is still checked on every proof (it is the caller's, per call).
const headerCache = new Map<string, CheckedHeader>()
const MAX_CACHED_HEADERS = 10_000
const MAX_CACHED_HEADER_LENGTH = 1024

/** Options of {@link verifyDpopProof}: what the request looked like and what to require. */
export interface VerifyDpopProofOptions {
  /** The request's HTTP method (compared exactly). */
  htm: string
  /** The request's target URI (compared after {@link normalizeHtu} of both sides). */
  htu: string
  /** The access token sent with the request: `ath` is then required and checked. */
  accessToken?: string | undefined
  /** The token's `cnf.jkt`: the proof key's thumbprint must equal it. */
  expectedJkt?: string | undefined
  /** The nonce the server expects (`nonce` must equal it). */
  nonce?: string | undefined
  /** Require a `nonce` claim even when no expected `nonce` is given (caller checks it). */
  requireNonce?: boolean | undefined
  /** Current time in seconds (default: the system clock). */
  now?: number | undefined
  /** Oldest acceptable `iat`, seconds before `now` (default 300). */
  maxAgeSeconds?: number | undefined
  /** How far `iat` may be ahead of `now` (default 5). */
  clockSkewSeconds?: number | undefined
  /** Accepted JWS algorithms (default {@link DPOP_DEFAULT_ALGORITHMS}). */
  algorithms?: readonly string[] | undefined
  /** Where `jkt:jti` is recorded; without it no replay check is done. */
  replayStore?: ReplayStore | undefined
  /**
   * Check the signature on libuv's thread pool (default `true`, see
   * {@link verifyJwsSignature}); `false` checks it in place, the lower latency when the
   * caller has nothing else to do meanwhile.
   */
  offloadSignature?: boolean | undefined
}

/** A proof that passed every check. */
export interface VerifiedDpopProof {
  /** RFC 7638 thumbprint of the proof key. */
  jkt: string
  /** The proof's `jti`. */
  jti: string
  /** The proof's `iat`. */
  iat: number
  /** The proof's public key (required members only). */
  jwk: JsonWebKey
  /** The proof's `nonce`, when present. */
  nonce?: string | undefined
}

function fail(code: DpopProofErrorCode): never {
  throw new DpopProofError(code)
}

function decodeJson(part: string): Record<string, unknown> {
  if (!B64URL.test(part) || part.length % 4 === 1) fail('ERR_DPOP_MALFORMED')
  let value: unknown
  try {
    value = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'))
  } catch {
    return fail('ERR_DPOP_MALFORMED')
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    fail('ERR_DPOP_MALFORMED')
  return value as Record<string, unknown>
}

function publicJwkFor(jwk: unknown, spec: AlgorithmSpec): JsonWebKey {
  if (typeof jwk !== 'object' || jwk === null || Array.isArray(jwk)) fail('ERR_DPOP_JWK')
  const record = jwk as Record<string, unknown>
  for (const member of PRIVATE_MEMBERS) if (Object.hasOwn(record, member)) fail('ERR_DPOP_JWK')
  const { kty, crv, x, y } = record
  if (kty !== spec.kty || typeof crv !== 'string' || !spec.curves.includes(crv))
    fail('ERR_DPOP_JWK')
  if (typeof x !== 'string' || !B64URL.test(x)) fail('ERR_DPOP_JWK')
  if (kty === 'EC') {
    if (typeof y !== 'string' || !B64URL.test(y)) fail('ERR_DPOP_JWK')
    return { kty, crv, x, y }
  }
  if (y !== undefined) fail('ERR_DPOP_JWK')
  return { kty: 'OKP', crv, x }
}

function importKey(jwk: JsonWebKey, jkt: string): KeyObject {
  const cached = keyCache.get(jkt)
  if (cached !== undefined) return cached
  let key: KeyObject
  try {
    key = createPublicKey({ key: jwk as NodeJsonWebKey, format: 'jwk' })
  } catch {
    return fail('ERR_DPOP_JWK')
  }
  if (keyCache.size >= MAX_CACHED_KEYS) {
    const oldest = keyCache.keys().next()
    if (oldest.done !== true) keyCache.delete(oldest.value)
  }
  keyCache.set(jkt, key)
  return key
}

/**
 * The header checks, in the order {@link verifyDpopProof} documents: the header segment is a
 * JSON object (`ERR_DPOP_MALFORMED`), the signature segment is base64url, no `crit`, `typ`,
 * `alg` in `allowed`, then the `jwk` (imported once per thumbprint).
 */
function checkHeader(
  headerPart: string,
  signaturePart: string,
  allowed: readonly string[],
): CheckedHeader {
  const cached = headerCache.get(headerPart)
  if (cached !== undefined) {
    if (signaturePart.length === 0 || !B64URL.test(signaturePart)) fail('ERR_DPOP_MALFORMED')
    if (!allowed.includes(cached.alg)) fail('ERR_DPOP_ALG')
    return cached
  }
  const header = decodeJson(headerPart)
  if (signaturePart.length === 0 || !B64URL.test(signaturePart)) fail('ERR_DPOP_MALFORMED')
  if (Object.hasOwn(header, 'crit')) fail('ERR_DPOP_MALFORMED')

  if (header.typ !== 'dpop+jwt') fail('ERR_DPOP_TYP')

  const alg = header.alg
  const spec =
    typeof alg === 'string' && allowed.includes(alg) && Object.hasOwn(SPECS, alg)
      ? SPECS[alg]
      : undefined
  if (spec === undefined || typeof alg !== 'string') fail('ERR_DPOP_ALG')

  const jwk = publicJwkFor(header.jwk, spec)
  const jkt = jwkThumbprintSync(jwk)
  if (jkt === undefined) fail('ERR_DPOP_JWK')
  // Frozen: the same object is handed to every caller whose proof carries this header.
  const checked: CheckedHeader = Object.freeze({
    alg,
    jwk: Object.freeze(jwk),
    jkt,
    key: importKey(jwk, jkt),
  })
  if (headerPart.length <= MAX_CACHED_HEADER_LENGTH) {
    if (headerCache.size >= MAX_CACHED_HEADERS) {
      const oldest = headerCache.keys().next()
      if (oldest.done !== true) headerCache.delete(oldest.value)
    }
    headerCache.set(headerPart, checked)
  }
  return checked
}

/**
 * Verifies a DPoP proof JWT with every check of RFC 9449 §4.3, in this order:
 * one compact JWS (`ERR_DPOP_MALFORMED`); `typ` = `dpop+jwt` (`ERR_DPOP_TYP`); `alg` in the
 * allow-list and never `none`/symmetric (`ERR_DPOP_ALG`); `jwk` a public key of that
 * algorithm without private members (`ERR_DPOP_JWK`); signature (`ERR_DPOP_SIGNATURE`);
 * claims `jti`, `htm`, `htu`, `iat` present (`ERR_DPOP_MALFORMED`); `htm` exact
 * (`ERR_DPOP_HTM`); `htu` after normalisation (`ERR_DPOP_HTU`); `iat` no older than
 * `maxAgeSeconds` and no more than `clockSkewSeconds` ahead (`ERR_DPOP_IAT`); `ath` when an
 * access token is given (`ERR_DPOP_ATH`); `nonce` (`ERR_DPOP_NONCE`); thumbprint =
 * `expectedJkt` (`ERR_DPOP_JKT_MISMATCH`); and last, `jkt:jti` unseen in `replayStore`
 * until `iat + maxAge + skew` (`ERR_DPOP_REPLAY`). A {@link ReplayStoreError} from the
 * store is passed through unchanged: the proof is not accepted (fail closed).
 *
 * Public keys are imported once and cached by thumbprint, checked headers by their exact
 * bytes; signatures are checked with node:crypto on libuv's thread pool
 * ({@link verifyJwsSignature}).
 *
 * @example
 * ```ts
 * const { jkt } = await verifyDpopProof(req.headers.dpop, {
 *   htm: 'POST', htu: 'https://mcp.example.com/mcp', accessToken, expectedJkt: claims.cnf.jkt,
 *   replayStore,
 * })
 * ```
 */
export async function verifyDpopProof(
  proof: string,
  options: VerifyDpopProofOptions,
): Promise<VerifiedDpopProof> {
  if (typeof proof !== 'string' || proof.length === 0 || proof.length > MAX_PROOF_LENGTH)
    fail('ERR_DPOP_MALFORMED')
  const parts = proof.split('.')
  if (parts.length !== 3) fail('ERR_DPOP_MALFORMED')
  const [headerPart = '', payloadPart = '', signaturePart = ''] = parts
  const allowed = options.algorithms ?? DPOP_DEFAULT_ALGORITHMS
  const { alg, jwk, jkt, key } = checkHeader(headerPart, signaturePart, allowed)

  const signature = Buffer.from(signaturePart, 'base64url')
  const signingInput = Buffer.from(`${headerPart}.${payloadPart}`, 'ascii')
  const offload = options.offloadSignature !== false
  if (!(await verifyJwsSignature(alg, key, signingInput, signature, { offload })))
    fail('ERR_DPOP_SIGNATURE')

  const payload = decodeJson(payloadPart)
  const { jti, htm, htu, iat, ath, nonce } = payload
  if (typeof jti !== 'string' || jti.length === 0 || jti.length > 256) fail('ERR_DPOP_MALFORMED')
  if (typeof htm !== 'string' || typeof htu !== 'string') fail('ERR_DPOP_MALFORMED')
  if (typeof iat !== 'number' || !Number.isFinite(iat)) fail('ERR_DPOP_MALFORMED')
  if (ath !== undefined && typeof ath !== 'string') fail('ERR_DPOP_MALFORMED')
  if (nonce !== undefined && typeof nonce !== 'string') fail('ERR_DPOP_MALFORMED')

  if (htm !== options.htm) fail('ERR_DPOP_HTM')

  // Byte-equal URLs normalise alike: only a proof that spells the URL differently pays for
  // two URL parses.
  if (htu !== options.htu) {
    let claimed: string
    try {
      claimed = normalizeHtu(htu)
    } catch {
      return fail('ERR_DPOP_HTU')
    }
    if (claimed !== normalizeHtu(options.htu)) fail('ERR_DPOP_HTU')
  }

  const now = options.now ?? Math.floor(Date.now() / 1000)
  const maxAge = options.maxAgeSeconds ?? 300
  const skew = options.clockSkewSeconds ?? 5
  if (iat < now - maxAge || iat > now + skew) fail('ERR_DPOP_IAT')

  if (options.accessToken !== undefined) {
    if (ath === undefined || ath !== accessTokenHash(options.accessToken)) fail('ERR_DPOP_ATH')
  }

  if (options.nonce !== undefined || options.requireNonce === true) {
    if (nonce === undefined) fail('ERR_DPOP_NONCE')
    if (options.nonce !== undefined && nonce !== options.nonce) fail('ERR_DPOP_NONCE')
  }

  if (options.expectedJkt !== undefined && options.expectedJkt !== jkt)
    fail('ERR_DPOP_JKT_MISMATCH')

  if (options.replayStore !== undefined) {
    const fresh = await options.replayStore.checkAndStore(`${jkt}:${jti}`, iat + maxAge + skew)
    if (!fresh) fail('ERR_DPOP_REPLAY')
  }

  const result: VerifiedDpopProof = { jkt, jti, iat, jwk }
  if (nonce !== undefined) result.nonce = nonce
  return result
}
