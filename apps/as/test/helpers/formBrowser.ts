import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { MCP_RESOURCE, PUBLIC_REDIRECT, type TestServer } from '../helpers.ts'

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

/** Login + consent through the AS's forms; returns a fresh code and its verifier. */
export async function freshCode(server: TestServer): Promise<{ code: string; verifier: string }> {
  const verifier = randomBytes(32).toString('base64url')
  const browser = new Browser(server.url)
  const start = await browser.request(
    `/oauth/authorize?${new URLSearchParams({
      client_id: 'public-app',
      response_type: 'code',
      redirect_uri: PUBLIC_REDIRECT,
      scope: 'read',
      resource: MCP_RESOURCE,
      code_challenge: createHash('sha256').update(verifier).digest('base64url'),
      code_challenge_method: 'S256',
    })}`,
  )
  const login = await browser.request(start.location!)
  const signedIn = await browser.request(`${start.location!}/login`, {
    method: 'POST',
    form: { csrf: csrfOf(login.text), username: 'demo', password: 'demo-password' },
  })
  const resumed = await browser.request(signedIn.location!)
  const consent = await browser.request(resumed.location!)
  const allowed = await browser.request(`${resumed.location!}/confirm`, {
    method: 'POST',
    form: { csrf: csrfOf(consent.text) },
  })
  const back = new URL((await browser.request(allowed.location!)).location!)
  return { code: back.searchParams.get('code')!, verifier }
}
