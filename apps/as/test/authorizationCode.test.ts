import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { createDpopProof, generateDpopKeyPair, type DpopKeyPair } from '@dauth/protocol'
import {
  MCP_RESOURCE,
  PUBLIC_REDIRECT,
  decode,
  startTestServer,
  tokenRequest,
  type TestServer,
} from './helpers.ts'
import { authorizeUrl, Browser, csrfOf, pkce } from './helpers/formBrowser.ts'

describe('authorization code + PKCE with login and consent pages', () => {
  let server: TestServer
  let key: DpopKeyPair

  before(async () => {
    server = await startTestServer({ dev: true, loginMaxFailures: 3, logger: { level: 'error' } })
    key = await generateDpopKeyPair()
  })
  after(() => server.close())

  /** Runs login + consent; returns the redirect back to the client. */
  async function signIn(browser: Browser, challenge: string): Promise<URL> {
    const start = await browser.request(authorizeUrl(challenge))
    assert.equal(start.status, 303)
    const loginPath = start.location!
    assert.match(loginPath, /^\/interaction\/[A-Za-z0-9_-]+$/)
    const login = await browser.request(loginPath)
    assert.equal(login.status, 200)
    assert.match(login.text, /<label for="username">Username<\/label>/)
    assert.match(login.text, /<label for="password">Password<\/label>/)
    assert.match(login.text, /<button type="submit">Sign in<\/button>/)
    assert.match(login.text, /Public &#60;App&#62;/, 'client name is escaped')
    const signedIn = await browser.request(`${loginPath}/login`, {
      method: 'POST',
      form: { csrf: csrfOf(login.text), username: 'demo', password: 'demo-password' },
    })
    assert.equal(signedIn.status, 303)
    const resumed = await browser.request(signedIn.location!)
    assert.equal(resumed.status, 303)
    const consentPath = resumed.location!
    const consent = await browser.request(consentPath)
    assert.equal(consent.status, 200)
    assert.match(consent.text, /Authorize Public &#60;App&#62;/)
    assert.ok(consent.text.includes(`<code>${MCP_RESOURCE}</code>`))
    assert.match(consent.text, /<li><code>read<\/code><\/li>/)
    assert.match(consent.text, /<button type="submit">Allow<\/button>/)
    assert.match(consent.text, /<button type="submit">Deny<\/button>/)
    const allowed = await browser.request(`${consentPath}/confirm`, {
      method: 'POST',
      form: { csrf: csrfOf(consent.text) },
    })
    assert.equal(allowed.status, 303)
    const back = await browser.request(allowed.location!)
    assert.equal(back.status, 303)
    return new URL(back.location!)
  }

  async function redeem(code: string, verifier: string) {
    const dpop = await createDpopProof(key, { htm: 'POST', htu: server.tokenEndpoint })
    return tokenRequest(
      server,
      {
        grant_type: 'authorization_code',
        code,
        code_verifier: verifier,
        redirect_uri: PUBLIC_REDIRECT,
        client_id: 'public-app',
      },
      { dpop },
    )
  }

  test('full flow: iss in the response (RFC 9207), DPoP-bound JWT for the resource, refresh rotation', async () => {
    const browser = new Browser(server.url)
    const { verifier, challenge } = pkce()
    const callback = await signIn(browser, challenge)
    assert.equal(`${callback.origin}${callback.pathname}`, PUBLIC_REDIRECT)
    assert.equal(callback.searchParams.get('iss'), server.url)
    assert.equal(callback.searchParams.get('state'), 'st-1')
    const code = callback.searchParams.get('code')!

    const tokens = await redeem(code, verifier)
    assert.equal(tokens.status, 200)
    assert.equal(tokens.body.token_type, 'DPoP')
    const { header, claims } = decode(tokens.body.access_token as string)
    assert.equal(header.typ, 'at+jwt')
    assert.equal(claims.aud, MCP_RESOURCE)
    assert.equal(claims.sub, 'acct_demo')
    assert.equal(claims.client_id, 'public-app')
    assert.equal(claims.scope, 'read')
    assert.deepEqual(claims.cnf, { jkt: key.jkt })
    const refresh1 = tokens.body.refresh_token as string
    assert.equal(typeof refresh1, 'string')

    // Code reuse is refused.
    const reused = await redeem(code, verifier)
    assert.equal(reused.status, 400)
    assert.equal(reused.body.error, 'invalid_grant')
    // Reuse revokes what the code issued: the refresh token is dead.
    const afterReuse = await tokenRequest(
      server,
      { grant_type: 'refresh_token', refresh_token: refresh1, client_id: 'public-app' },
      { dpop: await createDpopProof(key, { htm: 'POST', htu: server.tokenEndpoint }) },
    )
    assert.equal(afterReuse.status, 400)
    assert.equal(afterReuse.body.error, 'invalid_grant')

    // Fresh flow for the refresh test (the reuse above revoked the first grant's tokens).
    const second = pkce()
    const cb2 = await signIn(new Browser(server.url), second.challenge)
    const t2 = await redeem(cb2.searchParams.get('code')!, second.verifier)
    assert.equal(t2.status, 200)
    const r1 = t2.body.refresh_token as string
    const refresh = async (token: string) =>
      tokenRequest(
        server,
        { grant_type: 'refresh_token', refresh_token: token, client_id: 'public-app' },
        { dpop: await createDpopProof(key, { htm: 'POST', htu: server.tokenEndpoint }) },
      )
    const rotated = await refresh(r1)
    assert.equal(rotated.status, 200)
    const r2 = rotated.body.refresh_token as string
    assert.notEqual(r2, r1)
    assert.equal(decode(rotated.body.access_token as string).claims.aud, MCP_RESOURCE)
    const replayed = await refresh(r1)
    assert.equal(replayed.status, 400)
    assert.equal(replayed.body.error, 'invalid_grant')
    // The family is revoked: the rotated token is dead too.
    const family = await refresh(r2)
    assert.equal(family.status, 400)
    assert.equal(family.body.error, 'invalid_grant')
  })

  test('PKCE is required and S256 only; a wrong verifier is refused', async () => {
    for (const url of [
      authorizeUrl(undefined),
      authorizeUrl('x'.repeat(43), { code_challenge_method: 'plain' }),
    ]) {
      const res = await new Browser(server.url).request(url)
      assert.equal(res.status, 303)
      const location = new URL(res.location!)
      assert.equal(`${location.origin}${location.pathname}`, PUBLIC_REDIRECT)
      assert.equal(location.searchParams.get('error'), 'invalid_request')
    }
    const { challenge } = pkce()
    const callback = await signIn(new Browser(server.url), challenge)
    const wrong = await redeem(callback.searchParams.get('code')!, pkce().verifier)
    assert.equal(wrong.status, 400)
    assert.equal(wrong.body.error, 'invalid_grant')
  })

  test('an unregistered redirect_uri is refused without redirecting', async () => {
    const res = await new Browser(server.url).request(
      authorizeUrl(pkce().challenge, { redirect_uri: 'http://evil.example/cb' }),
    )
    assert.equal(res.status, 400)
    assert.equal(res.location, null)
  })

  test('Deny returns access_denied to the client', async () => {
    const browser = new Browser(server.url)
    const start = await browser.request(authorizeUrl(pkce().challenge))
    const login = await browser.request(start.location!)
    const signedIn = await browser.request(`${start.location!}/login`, {
      method: 'POST',
      form: { csrf: csrfOf(login.text), username: 'demo', password: 'demo-password' },
    })
    const resumed = await browser.request(signedIn.location!)
    const consent = await browser.request(resumed.location!)
    const denied = await browser.request(`${resumed.location!}/abort`, {
      method: 'POST',
      form: { csrf: csrfOf(consent.text) },
    })
    const back = await browser.request(denied.location!)
    const location = new URL(back.location!)
    assert.equal(location.searchParams.get('error'), 'access_denied')
    assert.equal(location.searchParams.get('iss'), server.url)
  })

  test('CSRF: consent without the token or from another origin is refused', async () => {
    const browser = new Browser(server.url)
    const start = await browser.request(authorizeUrl(pkce().challenge))
    const login = await browser.request(start.location!)
    const signedIn = await browser.request(`${start.location!}/login`, {
      method: 'POST',
      form: { csrf: csrfOf(login.text), username: 'demo', password: 'demo-password' },
    })
    const resumed = await browser.request(signedIn.location!)
    const consent = await browser.request(resumed.location!)
    const noToken = await browser.request(`${resumed.location!}/confirm`, {
      method: 'POST',
      form: { csrf: 'forged' },
    })
    assert.equal(noToken.status, 403)
    const crossSite = await browser.request(`${resumed.location!}/confirm`, {
      method: 'POST',
      form: { csrf: csrfOf(consent.text) },
      origin: 'http://evil.example',
    })
    assert.equal(crossSite.status, 403)
  })

  test('login: same answer for unknown user and wrong password, then rate limited', async (t) => {
    // Own instance: the limiter state must not leak into the other tests.
    const own = await startTestServer({ dev: true, loginMaxFailures: 3 })
    t.after(() => own.close())
    const browser = new Browser(own.url)
    const start = await browser.request(authorizeUrl(pkce().challenge))
    const login = await browser.request(start.location!)
    const csrf = csrfOf(login.text)
    const attempt = (username: string, password: string) =>
      browser.request(`${start.location!}/login`, {
        method: 'POST',
        form: { csrf, username, password },
      })
    const unknown = await attempt('nobody', 'x')
    const wrong = await attempt('demo', 'wrong-password')
    assert.equal(unknown.status, 401)
    assert.equal(wrong.status, 401)
    const message = (text: string) => /<p class="error" role="alert">([^<]*)<\/p>/.exec(text)?.[1]
    assert.equal(message(unknown.text), 'Invalid username or password.')
    assert.equal(message(wrong.text), 'Invalid username or password.')
    await attempt('demo', 'wrong-again')
    await attempt('demo', 'wrong-thrice')
    const limited = await attempt('demo', 'demo-password')
    assert.equal(limited.status, 429)
    assert.equal(message(limited.text), 'Too many sign-in attempts. Try again later.')
  })

  test('PAR (RFC 9126) starts the same flow; revocation (RFC 7009) kills a refresh token', async () => {
    const { verifier, challenge } = pkce()
    const par = await fetch(`${server.url}/oauth/par`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        client_id: 'public-app',
        response_type: 'code',
        redirect_uri: PUBLIC_REDIRECT,
        scope: 'read',
        resource: MCP_RESOURCE,
        state: 'st-par',
        code_challenge: challenge,
        code_challenge_method: 'S256',
      }),
    })
    assert.equal(par.status, 201)
    const { request_uri: requestUri, expires_in: expiresIn } = (await par.json()) as {
      request_uri: string
      expires_in: number
    }
    assert.match(requestUri, /^urn:ietf:params:oauth:request_uri:/)
    assert.equal(typeof expiresIn, 'number')

    const browser = new Browser(server.url)
    const start = await browser.request(
      `/oauth/authorize?${new URLSearchParams({ client_id: 'public-app', request_uri: requestUri })}`,
    )
    assert.equal(start.status, 303)
    assert.match(start.location!, /^\/interaction\//)
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
    assert.equal(back.searchParams.get('state'), 'st-par')
    const tokens = await redeem(back.searchParams.get('code')!, verifier)
    assert.equal(tokens.status, 200)

    const revoke = await fetch(`${server.url}/oauth/revoke`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        token: tokens.body.refresh_token as string,
        client_id: 'public-app',
      }),
    })
    assert.equal(revoke.status, 200)
    const refreshed = await tokenRequest(
      server,
      {
        grant_type: 'refresh_token',
        refresh_token: tokens.body.refresh_token as string,
        client_id: 'public-app',
      },
      { dpop: await createDpopProof(key, { htm: 'POST', htu: server.tokenEndpoint }) },
    )
    assert.equal(refreshed.status, 400)
    assert.equal(refreshed.body.error, 'invalid_grant')
  })
})
