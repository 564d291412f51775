import {
  DPOP_DEFAULT_ALGORITHMS,
  formatWwwAuthenticate,
  verifyDpopProof,
  type ReplayStore,
} from '@dauth/protocol'
import { type JWTPayload, jwtVerify } from 'jose'
import { asStorageError, HttpError, isStorageOutage } from '../errors.ts'
import type { SigningKeys } from '../keys.ts'

export interface AuthenticatedCaller {
  sub: string
  clientId: string | undefined
  scopes: Set<string>
  jkt: string
}

export interface AuthenticateOptions {
  issuer: string
  audience: string
  keys: SigningKeys
  replay: ReplayStore
  now: () => number
  requiredScope: string
  /** Absolute URL of the resource's RFC 9728 metadata, echoed in challenges. */
  resourceMetadata?: string
}

/** A request as the check needs it (framework-free). */
export interface RequestLike {
  method: string
  /** Absolute URL of the request as served by the issuer. */
  url: string
  /** Raw header list (name, value, name, value…) so that duplicates are seen. */
  rawHeaders: readonly string[]
}

function headerValues(raw: readonly string[], name: string): string[] {
  const out: string[] = []
  for (let i = 0; i + 1 < raw.length; i += 2) {
    if (raw[i]?.toLowerCase() === name) out.push(raw[i + 1] ?? '')
  }
  return out
}

function challenge(error: string, description: string, extra: Record<string, string> = {}): string {
  return formatWwwAuthenticate({
    scheme: 'DPoP',
    params: {
      algs: DPOP_DEFAULT_ALGORITHMS.join(' '),
      error,
      error_description: description,
      ...extra,
    },
  })
}

const unauthorized = (description: string, extra: Record<string, string>): HttpError =>
  new HttpError('invalid_token', description, {
    challenge: challenge('invalid_token', description, extra),
  })

/**
 * Signature results of recently verified tokens, per key set (a new key set after a restart
 * or rotation starts empty) and audience. The enclave presents one access token for minutes
 * with a fresh proof each time: re-verifying the same bytes would give the same answer, so
 * only `exp` is checked again. The proof is never cached. Bounded: the oldest entry goes.
 */
const VERIFIED_MAX = 1024
const verified = new WeakMap<SigningKeys, Map<string, JWTPayload & { exp: number }>>()

function cachedPayload(options: AuthenticateOptions, token: string): JWTPayload | undefined {
  const entry = verified.get(options.keys)?.get(`${options.audience} ${token}`)
  if (entry === undefined) return undefined
  // jose's default clock tolerance is 0: expired means expired, as on the first check.
  if (entry.exp <= options.now()) {
    verified.get(options.keys)?.delete(`${options.audience} ${token}`)
    return undefined
  }
  return entry
}

function cachePayload(options: AuthenticateOptions, token: string, payload: JWTPayload): void {
  if (typeof payload.exp !== 'number') return
  let map = verified.get(options.keys)
  if (map === undefined) {
    map = new Map()
    verified.set(options.keys, map)
  }
  if (map.size >= VERIFIED_MAX) {
    const oldest = map.keys().next()
    if (!oldest.done) map.delete(oldest.value)
  }
  map.set(`${options.audience} ${token}`, payload as JWTPayload & { exp: number })
}

/**
 * Verifies a DPoP-bound access token issued by this AS (RFC 9068 + RFC 9449):
 * signature with the AS's own keys, iss, aud, exp, typ, cnf.jkt, the proof (htm, htu, ath,
 * jti replay) and the scope.
 */
export async function authenticateDpopRequest(
  request: RequestLike,
  options: AuthenticateOptions,
): Promise<AuthenticatedCaller> {
  // RFC 9728 §5.1: point clients at the protected resource metadata.
  const rm: Record<string, string> = options.resourceMetadata
    ? { resource_metadata: options.resourceMetadata }
    : {}
  const authorization = headerValues(request.rawHeaders, 'authorization')
  if (authorization.length !== 1) {
    throw new HttpError('invalid_token', 'Missing DPoP access token', {
      challenge: formatWwwAuthenticate({
        scheme: 'DPoP',
        params: { algs: DPOP_DEFAULT_ALGORITHMS.join(' '), ...rm },
      }),
    })
  }
  const match = /^DPoP ([A-Za-z0-9._~+/-]+=*)$/.exec(authorization[0] ?? '')
  if (!match?.[1]) throw unauthorized('Expected a DPoP access token', rm)
  const token = match[1]

  let payload = cachedPayload(options, token)
  if (payload === undefined) {
    try {
      ;({ payload } = await jwtVerify(token, options.keys.verificationKeys, {
        issuer: options.issuer,
        audience: options.audience,
        typ: 'at+jwt',
        algorithms: ['ES256'],
        currentDate: new Date(options.now() * 1000),
        requiredClaims: ['sub', 'exp', 'iat'],
      }))
    } catch {
      throw unauthorized('Invalid access token', rm)
    }
    cachePayload(options, token, payload)
  }
  const cnf = payload.cnf as { jkt?: unknown } | undefined
  if (
    typeof payload.sub !== 'string' ||
    typeof cnf?.jkt !== 'string' ||
    typeof payload.aud !== 'string'
  ) {
    throw unauthorized('Invalid access token', rm)
  }

  const proofs = headerValues(request.rawHeaders, 'dpop')
  if (proofs.length !== 1 || !proofs[0]) {
    throw new HttpError('invalid_dpop_proof', 'Exactly one DPoP proof is required', {
      challenge: challenge('invalid_dpop_proof', 'Exactly one DPoP proof is required', rm),
    })
  }
  try {
    await verifyDpopProof(proofs[0], {
      htm: request.method,
      htu: request.url,
      accessToken: token,
      expectedJkt: cnf.jkt,
      now: options.now(),
      replayStore: options.replay,
    })
  } catch (error) {
    // The replay store could not decide: fail closed with 503, not "invalid proof".
    if (isStorageOutage(error)) throw asStorageError(error)
    throw new HttpError('invalid_dpop_proof', 'Invalid DPoP proof', {
      challenge: challenge('invalid_dpop_proof', 'Invalid DPoP proof', rm),
    })
  }

  const scopes = new Set(typeof payload.scope === 'string' ? payload.scope.split(' ') : [])
  if (!scopes.has(options.requiredScope)) {
    throw new HttpError('insufficient_scope', `The ${options.requiredScope} scope is required`, {
      challenge: challenge('insufficient_scope', `The ${options.requiredScope} scope is required`, {
        scope: options.requiredScope,
        ...rm,
      }),
    })
  }
  return {
    sub: payload.sub,
    clientId: typeof payload.client_id === 'string' ? payload.client_id : undefined,
    scopes,
    jkt: cnf.jkt,
  }
}
