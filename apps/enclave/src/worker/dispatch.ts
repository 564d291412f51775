import {
  DpopProofError,
  EnvelopeError,
  ReplayStoreError,
  openCredentialEnvelope,
  verifyDpopProof,
} from '@dauth/protocol'
import type { CredentialBinding, ReplayStore, SecretBytes } from '@dauth/protocol'
import { DispatchRefusal, wireError } from '../errors.ts'
import type { EnclaveErrorCode } from '../errors.ts'
import type { DispatchResult } from '../ipc.ts'
import type { BoxKeyCache } from '../keys/keyring.ts'
import { AsUnavailableError } from './asClient.ts'
import type { AuthorizationServerClient, EnvelopeRecord } from './asClient.ts'
import { checkHostSyntax, resolvePinnedAddress, selectAllowedHost } from './hosts.ts'
import type { Resolver } from './hosts.ts'
import { DROPPED_CALLER_HEADERS, isInjectableSecret, planInjection } from './inject.ts'
import { redactBytes, redactText, secretForms } from './redact.ts'
import { parseDispatchBody } from './request.ts'
import type { DispatchBody, ParseResult } from './request.ts'
import type { DispatchTokenClaims, DispatchTokenVerifier } from './tokens.ts'
import { callUpstream } from './upstream.ts'
import type { UpstreamPool, UpstreamResponse } from './upstream.ts'

/**
 * The `POST /dispatch` pipeline (ARCHITECTURE.md §3):
 * token → DPoP proof (+ jti replay) → body → handle ∈ connections → envelope from the AS →
 * open → binding → host policy → DNS pin → inject → HTTPS call → allow-listed headers →
 * redaction. The plaintext secret lives in a SecretBytes that is zeroed in `finally`.
 */
export interface DispatchContext {
  issuer: string
  enclaveUrl: string
  devUpstreams: boolean
  extraCa?: string
  upstreamTimeoutMs: number
  maxResponseBytes: number
  verifier: DispatchTokenVerifier
  as: AuthorizationServerClient
  keys: BoxKeyCache
  replayStore: ReplayStore
  resolver: Resolver
  /** keep-alive pools per checked upstream address (a one-off pool per call when absent) */
  upstreams?: UpstreamPool
}

export interface DispatchInput {
  authorization: string[]
  dpop: string[]
  body: Buffer
}

/** Response headers passed back to the caller (all others are dropped). */
export const RESPONSE_HEADER_ALLOWLIST: ReadonlySet<string> = new Set([
  'content-type',
  'content-language',
  'etag',
  'last-modified',
  'cache-control',
  'expires',
  'link',
  'location',
  'retry-after',
  'ratelimit',
  'ratelimit-policy',
  'x-request-id',
  'www-authenticate',
])

export function isAllowedResponseHeader(name: string): boolean {
  return RESPONSE_HEADER_ALLOWLIST.has(name) || name.startsWith('x-ratelimit-')
}

function refusal(code: EnclaveErrorCode, detail: string): DispatchResult {
  const wire = wireError(code)
  return {
    status: wire.status,
    headers: wire.headers,
    body: JSON.stringify(wire.body),
    error: code,
    detail,
  }
}

const DPOP_TOKEN = /^DPoP ([A-Za-z0-9\-._~+/]+=*)$/i

export async function handleDispatch(
  ctx: DispatchContext,
  input: DispatchInput,
): Promise<DispatchResult> {
  try {
    return await runDispatch(ctx, input)
  } catch (error) {
    if (error instanceof DispatchRefusal) return refusal(error.code, error.detail)
    if (error instanceof AsUnavailableError) return refusal('temporarily_unavailable', error.reason)
    return refusal('server_error', error instanceof Error ? error.name : 'unknown')
  }
}

/**
 * A replay store that also reports when it is consulted: `verifyDpopProof` asks it last,
 * after the signature, `htm`, `htu`, `iat`, `ath` and `jkt` checks have all passed.
 */
class SignalingReplayStore implements ReplayStore {
  readonly #store: ReplayStore
  readonly #onProofChecked: () => void
  constructor(store: ReplayStore, onProofChecked: () => void) {
    this.#store = store
    this.#onProofChecked = onProofChecked
  }
  checkAndStore(key: string, expiresAtSeconds: number): Promise<boolean> {
    this.#onProofChecked()
    return this.#store.checkAndStore(key, expiresAtSeconds)
  }
}

async function runDispatch(ctx: DispatchContext, input: DispatchInput): Promise<DispatchResult> {
  // 1. Authorization: exactly one `DPoP <token>` and exactly one proof.
  if (input.authorization.length !== 1 || input.dpop.length !== 1)
    return refusal('invalid_token', 'header_count')
  const match = DPOP_TOKEN.exec(input.authorization[0] ?? '')
  const token = match?.[1]
  const proof = input.dpop[0] ?? ''
  if (!token) return refusal('invalid_token', 'authorization_scheme')

  const claims = await ctx.verifier.verify(token)
  // The body is parsed now (pure, no I/O) but its errors are reported only after the proof,
  // so an unauthenticated caller still learns nothing but 401.
  const parsed = parseBody(input.body)
  // The envelope read is independent of the jti check, which is a round trip to the
  // launcher's replay store: it starts as soon as the proof has passed every other check
  // (signed by the token's key, for this request), runs alongside the replay check, and
  // its answer is used only when the jti was fresh. Revocation stays immediate: every
  // dispatch still reads its envelope from the AS.
  let envelope: Promise<EnvelopeRecord | undefined> | undefined
  const readEnvelope = (handle: string): Promise<EnvelopeRecord | undefined> => {
    envelope ??= ctx.as.fetchEnvelopeRecord(handle)
    return envelope
  }
  const early = parsed.ok && isDispatchable(ctx, parsed.value, claims) ? parsed.value : undefined
  try {
    await verifyDpopProof(proof, {
      htm: 'POST',
      htu: `${ctx.enclaveUrl.replace(/\/$/, '')}/dispatch`,
      accessToken: token,
      expectedJkt: claims.jkt,
      replayStore: new SignalingReplayStore(ctx.replayStore, () => {
        // never an unhandled rejection: the same promise is awaited (or dropped) below
        if (early) readEnvelope(early.handle).catch(() => undefined)
      }),
    })
  } catch (error) {
    // The shared jti store could not decide: fail closed, but as an outage, not a bad proof.
    if (error instanceof ReplayStoreError) return refusal('temporarily_unavailable', error.code)
    const code = error instanceof DpopProofError ? error.code : 'dpop'
    return refusal('invalid_token', code)
  }

  // 2. Body.
  if (!parsed.ok) return refusal('invalid_request', parsed.reason)
  const body = parsed.value

  // 3. The handle must be one the token carries (another tenant's handle = unknown handle).
  if (!Object.values(claims.connections).includes(body.handle))
    return refusal('handle_unavailable', 'handle_not_in_token')

  // 4. A requested host that can never be valid is refused before any lookup.
  if (body.request.host !== undefined) {
    const syntax = checkHostSyntax(body.request.host, ctx.devUpstreams)
    if (!syntax.ok) return refusal('host_not_allowed', syntax.reason)
  }

  // 5. Envelope from the AS, opened and checked against the stored record.
  const record = await readEnvelope(body.handle)
  if (!record || record.handle !== body.handle)
    return refusal('handle_unavailable', 'unknown_handle')
  try {
    await ctx.keys.refresh()
  } catch {
    return refusal('temporarily_unavailable', 'keyring')
  }
  let opened: { binding: CredentialBinding; secret: SecretBytes }
  try {
    opened = openCredentialEnvelope(record.envelope, (kid) => ctx.keys.get(kid))
  } catch (error) {
    return refusal(
      'handle_unavailable',
      error instanceof EnvelopeError ? 'envelope' : 'envelope_other',
    )
  }
  const { binding, secret } = opened
  try {
    const bindingProblem = checkBinding(binding, record, claims.sub, ctx.issuer)
    if (bindingProblem) return refusal('handle_unavailable', bindingProblem)
    return await callWithCredential(ctx, body, binding, secret)
  } finally {
    secret.zeroize()
  }
}

function parseBody(bytes: Buffer): ParseResult {
  let text: string
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes)
  } catch {
    return { ok: false, reason: 'body_utf8' }
  }
  return parseDispatchBody(text)
}

/** Steps 3 and 4 without an answer: true when the body would go on to the envelope read. */
function isDispatchable(
  ctx: DispatchContext,
  body: DispatchBody,
  claims: DispatchTokenClaims,
): boolean {
  if (!Object.values(claims.connections).includes(body.handle)) return false
  return body.request.host === undefined || checkHostSyntax(body.request.host, ctx.devUpstreams).ok
}

function checkBinding(
  binding: CredentialBinding,
  record: { connection_id: string; owner: { iss: string; sub: string }; upload_nonce: string },
  tokenSub: string,
  issuer: string,
): string | undefined {
  if (binding.connection_id !== record.connection_id) return 'binding_connection_id'
  if (binding.upload_nonce !== record.upload_nonce) return 'binding_upload_nonce'
  if (binding.owner.iss !== record.owner.iss || binding.owner.sub !== record.owner.sub)
    return 'binding_owner'
  if (binding.owner.iss !== issuer) return 'binding_issuer'
  if (binding.owner.sub !== tokenSub) return 'binding_subject'
  return undefined
}

async function callWithCredential(
  ctx: DispatchContext,
  body: DispatchBody,
  binding: CredentialBinding,
  secret: SecretBytes,
): Promise<DispatchResult> {
  const plan = planInjection(binding.inject)
  if (!plan.ok) return refusal('handle_unavailable', plan.reason)
  if (!secret.use((bytes) => isInjectableSecret(bytes)))
    return refusal('handle_unavailable', 'secret_bytes')

  const host = selectAllowedHost(body.request.host, binding.allowed_hosts, ctx.devUpstreams)
  if (!host.ok) return refusal('host_not_allowed', host.reason)
  const resolved = await resolvePinnedAddress(host.hostname, ctx.devUpstreams, ctx.resolver)
  if (!resolved.ok) return refusal(resolved.code, resolved.reason)

  // Caller headers never replace the credential.
  const headers: [string, string][] = []
  for (const [name, value] of body.request.headers) {
    if (DROPPED_CALLER_HEADERS.has(name) || name === plan.headerName) continue
    headers.push([name, value])
  }
  const query = body.request.query.filter(([name]) => name !== plan.queryName)

  // The secret becomes a JS string only here, for the header / URL the HTTP client needs.
  const secretText = secret.use((bytes) => Buffer.from(bytes).toString('latin1'))
  const forms = secretForms(
    secretText,
    binding.inject.type === 'basic' ? binding.inject.username : undefined,
  )
  let response: UpstreamResponse
  {
    const injected = plan.build(secretText)
    headers.push(...injected.headers)
    const search = new URLSearchParams([...query, ...injected.query]).toString()
    response = await callUpstream(
      {
        hostname: host.hostname,
        port: host.port,
        address: resolved.address,
        method: body.request.method,
        pathAndQuery: search ? `${body.request.path}?${search}` : body.request.path,
        headers,
        ...(body.request.body ? { body: body.request.body } : {}),
        ...(ctx.extraCa !== undefined ? { extraCa: ctx.extraCa } : {}),
        timeoutMs: ctx.upstreamTimeoutMs,
        maxResponseBytes: ctx.maxResponseBytes,
      },
      ctx.upstreams,
    )
  }

  const outHeaders: Record<string, string> = {}
  for (const [name, value] of Object.entries(response.headers)) {
    const lower = name.toLowerCase()
    if (value === undefined || !isAllowedResponseHeader(lower)) continue
    outHeaders[lower] = redactText(Array.isArray(value) ? value.join(', ') : value, forms)
  }
  const redacted = redactBytes(response.body, forms)
  const result: Record<string, unknown> = { status: response.status, headers: outHeaders }
  try {
    result.body = new TextDecoder('utf-8', { fatal: true }).decode(redacted)
  } catch {
    result.body = redacted.toString('base64')
    result.body_encoding = 'base64'
  }
  redacted.fill(0)
  return {
    status: 200,
    headers: { 'content-type': 'application/json', 'cache-control': 'no-store' },
    body: JSON.stringify(result),
  }
}
