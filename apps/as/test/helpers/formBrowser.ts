import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { MCP_RESOURCE, PUBLIC_REDIRECT } from '../helpers.ts'

/** A minimal browser: follows nothing by itself, keeps cookies. */
export class Browser {
  readonly cookies = new Map<string, string>()
  readonly base: string
  constructor(base: string) {
    this.base = base
  }

  async request(
    path: string,
    init: { method?: string; form?: Record<string, string>; origin?: string } = {},
  ) {
    const headers: Record<string, string> = {}
    if (this.cookies.size)
      headers.cookie = [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ')
    if (init.form) headers['content-type'] = 'application/x-www-form-urlencoded'
    if (init.origin) headers.origin = init.origin
    const requestInit: RequestInit = { method: init.method ?? 'GET', headers, redirect: 'manual' }
    if (init.form) requestInit.body = new URLSearchParams(init.form)
    const url = path.startsWith('http') ? path : `${this.base}${path}`
    const response = await fetch(url, requestInit)
    for (const cookie of response.headers.getSetCookie()) {
      const [pair] = cookie.split(';')
      const index = pair!.indexOf('=')
      const name = pair!.slice(0, index)
      const value = pair!.slice(index + 1)
      if (value === '' || /expires=Thu, 01 Jan 1970/i.test(cookie)) this.cookies.delete(name)
      else this.cookies.set(name, value)
    }
    return {
      status: response.status,
      location: response.headers.get('location'),
      text: await response.text(),
      headers: response.headers,
    }
  }
}

export function csrfOf(html: string): string {
  const match = /name="csrf" value="([^"]+)"/.exec(html)
  assert.ok(match, 'page has a CSRF field')
  return match[1]!
}

/** A PKCE pair (RFC 7636, S256). */
export function pkce(): { verifier: string; challenge: string } {
  const verifier = randomBytes(32).toString('base64url')
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') }
}

/** The authorization request of the static `public-app` client (`extra` overrides). */
export function authorizeUrl(
  challenge: string | undefined,
  extra: Record<string, string> = {},
): string {
  const params = new URLSearchParams({
    client_id: 'public-app',
    response_type: 'code',
    redirect_uri: PUBLIC_REDIRECT,
    scope: 'read',
    resource: MCP_RESOURCE,
    state: 'st-1',
    ...extra,
  })
  if (challenge) {
    params.set('code_challenge', challenge)
    params.set('code_challenge_method', extra.code_challenge_method ?? 'S256')
  }
  return `/oauth/authorize?${params}`
}

/**
 * Login + consent through the AS's forms at `server.url`; returns a fresh code and its
 * verifier. The AS's redirects name its issuer, which differs from `server.url` behind a
 * proxy or for one of several instances: those locations are followed at `server.url`.
 */
export async function freshCode(
  server: { url: string },
  issuer = server.url,
): Promise<{ code: string; verifier: string }> {
  const { verifier, challenge } = pkce()
  const browser = new Browser(server.url)
  const at = (location: string): string =>
    location.startsWith(issuer) ? location.slice(issuer.length) : location
  const start = await browser.request(authorizeUrl(challenge))
  const login = await browser.request(at(start.location!))
  const signedIn = await browser.request(`${at(start.location!)}/login`, {
    method: 'POST',
    form: { csrf: csrfOf(login.text), username: 'demo', password: 'demo-password' },
  })
  const resumed = await browser.request(at(signedIn.location!))
  const consent = await browser.request(at(resumed.location!))
  const allowed = await browser.request(`${at(resumed.location!)}/confirm`, {
    method: 'POST',
    form: { csrf: csrfOf(consent.text) },
  })
  const back = new URL((await browser.request(at(allowed.location!))).location!)
  return { code: back.searchParams.get('code')!, verifier }
}
