import { createHmac, timingSafeEqual } from 'node:crypto'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type Provider from 'oidc-provider'
import type { InteractionResults } from 'oidc-provider'
import { DUMMY_HASH_PROMISE, verifyPassword } from '../accounts/passwords.ts'
import type { LoginRateLimiter } from '../accounts/rateLimit.ts'
import type { AccountStore } from '../storage/types.ts'
import { consentPage, loginPage, messagePage } from '../views/pages.ts'
import { pinToIssuer } from './pin.ts'

export interface InteractionDependencies {
  provider: Provider
  accounts: AccountStore
  issuer: string
  csrfKey: Buffer
  /** Failed sign-ins per username and per client IP. */
  limiter: { user: LoginRateLimiter; ip: LoginRateLimiter }
  /** Counts refused sign-ins (metrics); never sees the username or password. */
  onLoginRefused?: (reason: 'login_failed' | 'login_rate_limited') => void
}

const INVALID_LOGIN = 'Invalid username or password.'
const TOO_MANY = 'Too many sign-in attempts. Try again later.'
const EXPIRED = 'This sign-in request has expired or is invalid. Start again from the application.'

type Details = Awaited<ReturnType<Provider['interactionDetails']>>

function csrfFor(key: Buffer, uid: string): string {
  return createHmac('sha256', key).update(`dauth-csrf:${uid}`).digest('base64url')
}

function csrfValid(key: Buffer, uid: string, value: unknown): boolean {
  if (typeof value !== 'string') return false
  const expected = Buffer.from(csrfFor(key, uid))
  const given = Buffer.from(value)
  return given.length === expected.length && timingSafeEqual(given, expected)
}

function html(reply: FastifyReply, status: number, body: string): FastifyReply {
  return reply
    .code(status)
    .header('content-type', 'text/html; charset=utf-8')
    .header('cache-control', 'no-store')
    .header('x-frame-options', 'DENY')
    .header(
      'content-security-policy',
      "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
    )
    .send(body)
}

function formField(request: FastifyRequest, name: string): string | undefined {
  const body = request.body as Record<string, unknown> | undefined
  const value = body?.[name]
  return typeof value === 'string' ? value : undefined
}

async function clientName(provider: Provider, clientId: unknown): Promise<string> {
  if (typeof clientId !== 'string') return 'an application'
  const client = await provider.Client.find(clientId)
  return (typeof client?.clientName === 'string' && client.clientName) || clientId
}

/**
 * Login and consent pages (server-rendered, CSRF-protected):
 * `GET /interaction/:uid`, `POST /interaction/:uid/login`, `POST /interaction/:uid/confirm`,
 * `POST /interaction/:uid/abort`.
 */
export function registerInteractionRoutes(
  app: FastifyInstance,
  getDeps: () => InteractionDependencies,
): void {
  /** Loads the interaction for this browser; undefined (and a page sent) when invalid. */
  const load = async (
    request: FastifyRequest,
    reply: FastifyReply,
  ): Promise<{ details: Details; deps: InteractionDependencies } | undefined> => {
    const deps = getDeps()
    pinToIssuer(request.raw, deps.issuer)
    const uid = (request.params as { uid?: unknown }).uid
    let details: Details
    try {
      details = await deps.provider.interactionDetails(request.raw, reply.raw)
    } catch {
      html(reply, 400, messagePage('Sign-in expired', EXPIRED))
      return undefined
    }
    if (details.uid !== uid) {
      html(reply, 400, messagePage('Sign-in expired', EXPIRED))
      return undefined
    }
    if (request.method === 'POST') {
      const origin = request.headers.origin
      if (
        (origin !== undefined && origin !== new URL(deps.issuer).origin) ||
        !csrfValid(deps.csrfKey, details.uid, formField(request, 'csrf'))
      ) {
        html(
          reply,
          403,
          messagePage('Request refused', 'The form was not submitted from this site. Start again.'),
        )
        return undefined
      }
    }
    return { details, deps }
  }

  const finish = async (
    request: FastifyRequest,
    reply: FastifyReply,
    deps: InteractionDependencies,
    result: InteractionResults,
    merge: boolean,
  ): Promise<void> => {
    reply.hijack()
    await deps.provider.interactionFinished(request.raw, reply.raw, result, {
      mergeWithLastSubmission: merge,
    })
  }

  app.get('/interaction/:uid', async (request, reply) => {
    const loaded = await load(request, reply)
    if (!loaded) return reply
    const { details, deps } = loaded
    const name = await clientName(deps.provider, details.params.client_id)
    const csrf = csrfFor(deps.csrfKey, details.uid)
    if (details.prompt.name === 'login') {
      return html(
        reply,
        200,
        loginPage({ action: `/interaction/${details.uid}/login`, csrf, clientName: name }),
      )
    }
    const missing = (details.prompt.details.missingResourceScopes ?? {}) as Record<string, string[]>
    const resources = Object.entries(missing).map(([resource, scopes]) => ({ resource, scopes }))
    if (resources.length === 0 && typeof details.params.resource === 'string') {
      resources.push({
        resource: details.params.resource,
        scopes: typeof details.params.scope === 'string' ? details.params.scope.split(' ') : [],
      })
    }
    return html(
      reply,
      200,
      consentPage({
        confirmAction: `/interaction/${details.uid}/confirm`,
        denyAction: `/interaction/${details.uid}/abort`,
        csrf,
        clientName: name,
        resources,
      }),
    )
  })

  app.post('/interaction/:uid/login', async (request, reply) => {
    const loaded = await load(request, reply)
    if (!loaded) return reply
    const { details, deps } = loaded
    if (details.prompt.name !== 'login')
      return html(reply, 400, messagePage('Sign-in expired', EXPIRED))
    const username = (formField(request, 'username') ?? '').trim().slice(0, 256)
    const password = (formField(request, 'password') ?? '').slice(0, 1024)
    const name = await clientName(deps.provider, details.params.client_id)
    const page = (error: string): string =>
      loginPage({
        action: `/interaction/${details.uid}/login`,
        csrf: csrfFor(deps.csrfKey, details.uid),
        clientName: name,
        error,
        username,
      })
    const userKey = `user:${username.toLowerCase()}`
    const ipKey = `ip:${request.ip}`
    // Counted before the password check (refunded on success): parallel guesses are
    // limited as strictly as sequential ones.
    const [userAllowed, ipAllowed] = await Promise.all([
      deps.limiter.user.attempt(userKey),
      deps.limiter.ip.attempt(ipKey),
    ])
    if (!userAllowed || !ipAllowed) {
      deps.onLoginRefused?.('login_rate_limited')
      return html(reply, 429, page(TOO_MANY))
    }
    const account = username ? await deps.accounts.findByUsername(username) : undefined
    // Unknown users cost one scrypt too: no enumeration by timing or by message.
    const valid = await verifyPassword(
      password,
      account?.passwordHash ?? (await DUMMY_HASH_PROMISE),
    )
    if (!account || !valid) {
      deps.onLoginRefused?.('login_failed')
      return html(reply, 401, page(INVALID_LOGIN))
    }
    await Promise.all([deps.limiter.user.reset(userKey), deps.limiter.ip.refund(ipKey)])
    await finish(request, reply, deps, { login: { accountId: account.id } }, false)
    return reply
  })

  app.post('/interaction/:uid/confirm', async (request, reply) => {
    const loaded = await load(request, reply)
    if (!loaded) return reply
    const { details, deps } = loaded
    if (details.prompt.name !== 'consent' || !details.session?.accountId) {
      return html(reply, 400, messagePage('Sign-in expired', EXPIRED))
    }
    const { provider } = deps
    const clientId = details.params.client_id as string
    const grant =
      (details.grantId ? await provider.Grant.find(details.grantId) : undefined) ??
      new provider.Grant({ accountId: details.session.accountId, clientId })
    const promptDetails = details.prompt.details as {
      missingOIDCScope?: string[]
      missingOIDCClaims?: string[]
      missingResourceScopes?: Record<string, string[]>
    }
    if (promptDetails.missingOIDCScope) grant.addOIDCScope(promptDetails.missingOIDCScope.join(' '))
    if (promptDetails.missingOIDCClaims) grant.addOIDCClaims(promptDetails.missingOIDCClaims)
    for (const [indicator, scopes] of Object.entries(promptDetails.missingResourceScopes ?? {})) {
      grant.addResourceScope(indicator, scopes.join(' '))
    }
    const grantId = await grant.save()
    await finish(request, reply, deps, { consent: details.grantId ? {} : { grantId } }, true)
    return reply
  })

  app.post('/interaction/:uid/abort', async (request, reply) => {
    const loaded = await load(request, reply)
    if (!loaded) return reply
    await finish(
      request,
      reply,
      loaded.deps,
      { error: 'access_denied', error_description: 'The user denied the request' },
      false,
    )
    return reply
  })
}
