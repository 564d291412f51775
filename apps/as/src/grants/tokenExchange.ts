import { randomBytes } from 'node:crypto'
import { errors, type Provider, type TokenEndpointGrantContext } from 'oidc-provider'
import { jwtVerify, SignJWT } from 'jose'
import {
  ACCESS_TOKEN_TYPE,
  DpopProofError,
  TOKEN_EXCHANGE_GRANT_TYPE,
  verifyDpopProof,
  type ReplayStore,
} from '@dauth/protocol'
import type { SigningKeys } from '../keys.ts'
import type { ResourceRegistry } from '../registry/resources.ts'
import type { ConnectionStore } from '../storage/types.ts'

/** Upper bound of a dispatch token's lifetime (ARCHITECTURE.md §1). */
export const DISPATCH_TOKEN_MAX_TTL = 60

export interface TokenExchangeDependencies {
  issuer: string
  enclaveUrl: string
  keys: SigningKeys
  registry: ResourceRegistry
  connections: ConnectionStore
  replay: ReplayStore
  now: () => number
}

const PARAMETERS = [
  'subject_token',
  'subject_token_type',
  'requested_token_type',
  'resource',
  'connections',
  'audience',
  'scope',
  'actor_token',
  'actor_token_type',
] as const

type ExchangeParams = { [K in (typeof PARAMETERS)[number]]?: string }

const invalidGrant = (description: string): Error =>
  new errors.CustomOIDCProviderError('invalid_grant', description)

/** The tagged outcome of checking a subject token (STYLE.md §6). */
type SubjectCheck =
  | { ok: true; sub: string; connections: Record<string, string>; exp: number }
  | { ok: false; reason: 'invalid' | 'not_dispatchable' }

async function checkSubjectToken(
  token: string,
  clientId: string,
  deps: TokenExchangeDependencies,
): Promise<SubjectCheck> {
  let payload
  try {
    ;({ payload } = await jwtVerify(token, deps.keys.verificationKeys, {
      issuer: deps.issuer,
      typ: 'at+jwt',
      algorithms: ['ES256'],
      currentDate: new Date(deps.now() * 1000),
      requiredClaims: ['sub', 'aud', 'exp'],
    }))
  } catch {
    return { ok: false, reason: 'invalid' }
  }
  if (
    typeof payload.aud !== 'string' ||
    typeof payload.sub !== 'string' ||
    typeof payload.exp !== 'number'
  ) {
    return { ok: false, reason: 'invalid' }
  }
  const resource = deps.registry.get(payload.aud)
  if (!resource?.dispatchClients.includes(clientId))
    return { ok: false, reason: 'not_dispatchable' }
  const raw = payload.connections
  const connections: Record<string, string> = {}
  if (raw && typeof raw === 'object' && !Array.isArray(raw)) {
    for (const [name, handle] of Object.entries(raw as Record<string, unknown>)) {
      if (typeof handle === 'string') connections[name] = handle
    }
  }
  return { ok: true, sub: payload.sub, connections, exp: payload.exp }
}

/**
 * Registers the RFC 8693 token exchange grant used for dispatch (wire.md
 * "Token exchange for dispatch"): an MCP server trades a user's access token issued for
 * it for a ≤ 60 s, DPoP-bound token whose audience is the enclave.
 */
export function registerTokenExchangeGrant(
  provider: Provider,
  deps: TokenExchangeDependencies,
): void {
  const tokenEndpoint = `${deps.issuer}${new URL(provider.urlFor('token')).pathname}`

  provider.registerGrantType<ExchangeParams>(
    TOKEN_EXCHANGE_GRANT_TYPE,
    async (ctx: TokenEndpointGrantContext<ExchangeParams>) => {
      const { params, client } = ctx.oidc
      for (const name of [
        'subject_token',
        'subject_token_type',
        'resource',
        'connections',
      ] as const) {
        if (typeof params[name] !== 'string' || params[name] === '') {
          throw new errors.InvalidRequest(`missing required parameter '${name}'`)
        }
      }
      if (params.subject_token_type !== ACCESS_TOKEN_TYPE) {
        throw new errors.InvalidRequest('unsupported subject_token_type')
      }
      if (
        params.requested_token_type !== undefined &&
        params.requested_token_type !== ACCESS_TOKEN_TYPE
      ) {
        throw new errors.InvalidRequest('unsupported requested_token_type')
      }
      if (params.actor_token !== undefined || params.audience !== undefined) {
        throw new errors.InvalidRequest('actor_token and audience are not supported')
      }
      if (params.resource !== deps.enclaveUrl) {
        throw new errors.InvalidTarget('the resource must be the enclave')
      }

      // DPoP is required for this grant: the dispatch token is bound to the caller's key.
      const proof = ctx.get('DPoP')
      if (!proof) throw new errors.InvalidDpopProof('a DPoP proof is required for token exchange')
      let jkt: string
      try {
        ;({ jkt } = await verifyDpopProof(proof, {
          htm: 'POST',
          htu: tokenEndpoint,
          now: deps.now(),
          replayStore: deps.replay,
        }))
      } catch (error) {
        if (error instanceof DpopProofError) throw new errors.InvalidDpopProof('invalid DPoP proof')
        throw error
      }

      const subject = await checkSubjectToken(params.subject_token!, client.clientId, deps)
      if (!subject.ok) {
        throw invalidGrant(
          subject.reason === 'invalid'
            ? 'subject token is invalid or expired'
            : 'subject token was not issued for a resource this client may dispatch for',
        )
      }

      const requested = [...new Set(params.connections!.split(' ').filter(Boolean))]
      if (requested.length === 0)
        throw new errors.InvalidRequest("missing required parameter 'connections'")
      const byHandle = new Map(
        Object.entries(subject.connections).map(([name, handle]) => [handle, name]),
      )
      const granted: Record<string, string> = {}
      for (const handle of requested) {
        const name = byHandle.get(handle)
        if (name === undefined)
          throw invalidGrant('a requested connection is not carried by the subject token')
        const record = await deps.connections.findActiveByHandle(handle)
        if (
          !record ||
          record.owner.iss !== deps.issuer ||
          record.owner.sub !== subject.sub ||
          record.name !== name
        ) {
          throw invalidGrant('a requested connection is not active')
        }
        granted[name] = handle
      }

      const now = deps.now()
      const expiresIn = Math.min(DISPATCH_TOKEN_MAX_TTL, subject.exp - now)
      if (expiresIn <= 0) throw invalidGrant('subject token is invalid or expired')
      const accessToken = await new SignJWT({
        client_id: client.clientId,
        act: { sub: client.clientId },
        connections: granted,
        cnf: { jkt },
      })
        .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: deps.keys.current.kid })
        .setIssuer(deps.issuer)
        .setSubject(subject.sub)
        .setAudience(deps.enclaveUrl)
        .setIssuedAt(now)
        .setExpirationTime(now + expiresIn)
        .setJti(randomBytes(32).toString('base64url'))
        .sign(deps.keys.current.key)

      ctx.body = {
        access_token: accessToken,
        token_type: 'DPoP',
        expires_in: expiresIn,
        issued_token_type: ACCESS_TOKEN_TYPE,
      }
    },
    PARAMETERS,
  )
}
