import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { after, before, describe, it } from 'node:test'
import {
  AuthorizationCodeAuth,
  AuthorizationResponseError,
  MCPClient,
  MemoryTokenStore,
} from '@dauth/sdk-client'
import { startLoopbackRedirectListener } from '@dauth/sdk-client/node'
import { decodeJwt, header } from './helpers/http.ts'
import { startStubAs, type StubAs } from './helpers/stubAs.ts'
import { startStubMcp, type StubMcp } from './helpers/stubMcp.ts'

/** A headless "browser": follows the AS's redirect and hands back the Location. */
const headless = async (url: URL): Promise<string> => {
  const response = await fetch(url, { redirect: 'manual' })
  assert.equal(response.status, 302)
  return response.headers.get('location')!
}

describe('AuthorizationCodeAuth (PKCE S256, state, iss, resource, DPoP, refresh)', () => {
  let as: StubAs
  before(async () => {
    as = await startStubAs({ expiresIn: 60 })
  })
  after(() => as.close())

  it('runs the flow and exchanges the code with the verifier, resource and a DPoP proof', async () => {
    const opened: URL[] = []
    const auth = AuthorizationCodeAuth({
      issuer: as.issuer,
      clientId: 'public-client',
      redirectUri: 'http://127.0.0.1:9/callback',
      scope: 'read',
      resource: 'http://localhost:4100/mcp',
      dpop: true,
      openBrowser: async (url) => {
        opened.push(url)
        return headless(url)
      },
    })
    as.server.requests.length = 0
    const token = await auth.getAccessToken()
    assert.equal(token?.type, 'DPoP')
    const key = await auth.getDpopKey()

    const url = opened[0]!
    assert.equal(`${url.origin}${url.pathname}`, `${as.issuer}/authorize`)
    const q = Object.fromEntries(url.searchParams)
    assert.equal(q.response_type, 'code')
    assert.equal(q.client_id, 'public-client')
    assert.equal(q.redirect_uri, 'http://127.0.0.1:9/callback')
    assert.equal(q.scope, 'read')
    assert.equal(q.code_challenge_method, 'S256')
    assert.equal(q.resource, 'http://localhost:4100/mcp')
    assert.equal(q.dpop_jkt, key?.jkt)
    assert.match(q.state!, /^[A-Za-z0-9_-]{43}$/)

    const exchange = as.tokenRequests().at(-1)!
    assert.equal(exchange.get('grant_type'), 'authorization_code')
    assert.equal(exchange.get('client_id'), 'public-client')
    assert.equal(exchange.get('redirect_uri'), 'http://127.0.0.1:9/callback')
    assert.equal(exchange.get('resource'), 'http://localhost:4100/mcp')
    assert.equal(
      createHash('sha256').update(exchange.get('code_verifier')!).digest('base64url'),
      q.code_challenge,
    )
    const tokenRequest = as.server.requests.filter((r) => r.path === '/token').at(-1)!
    assert.equal(decodeJwt(header(tokenRequest, 'dpop')!).payload.nonce, as.nonce)
  })

  it('uses the refresh token (same DPoP key, resource) once the access token nears expiry', async () => {
    let now = 2_000_000
    const store = new MemoryTokenStore()
    let opens = 0
    const auth = AuthorizationCodeAuth({
      issuer: as.issuer,
      clientId: 'public-client',
      redirectUri: 'http://127.0.0.1:9/cb',
      scope: 'read',
      resource: 'http://localhost:4100/mcp',
      dpop: true,
      now: () => now,
      tokenStore: store,
      openBrowser: async (url) => {
        opens += 1
        return headless(url)
      },
    })
    const first = await auth.getAccessToken()
    now += 31
    as.server.requests.length = 0
    const second = await auth.getAccessToken()
    assert.notEqual(second?.value, first?.value)
    assert.equal(opens, 1)
    const refresh = as.tokenRequests()
    assert.equal(refresh.length, 1)
    assert.equal(refresh[0]!.get('grant_type'), 'refresh_token')
    assert.equal(refresh[0]!.get('resource'), 'http://localhost:4100/mcp')
    assert.equal(as.tokens.get(second!.value)?.jkt, (await auth.getDpopKey())?.jkt)
    const stored = await store.get({ issuer: as.issuer, resource: 'http://localhost:4100/mcp' })
    assert.equal(stored?.accessToken, second?.value)
    assert.equal(stored?.dpopJkt, (await auth.getDpopKey())?.jkt)
    assert.match(stored?.refreshToken ?? '', /^rt-/)
  })

  it('refuses a response whose iss is another issuer (RFC 9207) without exchanging the code', async () => {
    const mixup = await startStubAs({ responseIss: 'https://attacker.example' })
    try {
      const auth = AuthorizationCodeAuth({
        issuer: mixup.issuer,
        clientId: 'public-client',
        redirectUri: 'http://127.0.0.1:9/cb',
        resource: 'r:1',
        openBrowser: headless,
      })
      await assert.rejects(auth.getAccessToken(), (e: unknown) => {
        assert.ok(e instanceof AuthorizationResponseError)
        assert.equal(e.code, 'ERR_AUTHORIZATION_RESPONSE')
        assert.equal(e.reason, 'iss_mismatch')
        return true
      })
      assert.equal(mixup.tokenRequests().length, 0)
    } finally {
      await mixup.close()
    }
  })

  it('refuses a response without iss when the AS advertises it', async () => {
    const noIss = await startStubAs({ responseIss: null })
    try {
      const auth = AuthorizationCodeAuth({
        issuer: noIss.issuer,
        clientId: 'public-client',
        redirectUri: 'http://127.0.0.1:9/cb',
        resource: 'r:1',
        openBrowser: headless,
      })
      await assert.rejects(
        auth.getAccessToken(),
        (e: unknown) => e instanceof AuthorizationResponseError && e.reason === 'iss_missing',
      )
      assert.equal(noIss.tokenRequests().length, 0)
    } finally {
      await noIss.close()
    }
  })

  it('refuses a response with another state', async () => {
    const auth = AuthorizationCodeAuth({
      issuer: as.issuer,
      clientId: 'public-client',
      redirectUri: 'http://127.0.0.1:9/cb',
      resource: 'r:1',
      openBrowser: async (url) => {
        const location = new URL(await headless(url))
        location.searchParams.set('state', 'forged')
        return location
      },
    })
    as.server.requests.length = 0
    await assert.rejects(
      auth.getAccessToken(),
      (e: unknown) => e instanceof AuthorizationResponseError && e.reason === 'state_mismatch',
    )
    assert.equal(as.tokenRequests().length, 0)
  })

  it('registers dynamically (RFC 7591) when no client id is configured, via the loopback listener', async () => {
    const listener = await startLoopbackRedirectListener()
    as.server.requests.length = 0
    const auth = AuthorizationCodeAuth({
      issuer: as.issuer,
      redirectUri: listener.redirectUri,
      redirectReceiver: listener,
      resource: 'r:1',
      scope: 'read',
      openBrowser: async (url) => {
        const location = await headless(url)
        const page = await fetch(location)
        assert.equal(page.status, 200)
        await page.text()
      },
    })
    const token = await auth.getAccessToken()
    assert.equal(token?.type, 'Bearer')
    const registration = as.server.requests.find((r) => r.path === '/register')!
    assert.deepEqual(JSON.parse(registration.body), {
      client_name: 'DAuth client',
      redirect_uris: [listener.redirectUri],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
      application_type: 'native',
    })
    assert.equal(as.tokenRequests().at(-1)!.get('client_id'), 'dyn-1')
    await listener.close()
  })
})

describe('AuthorizationCodeAuth with MCP discovery and step-up', () => {
  let as: StubAs
  let mcp: StubMcp
  before(async () => {
    as = await startStubAs()
    mcp = await startStubMcp(as, {
      toolScopes: { echo: ['read'], admin: ['read', 'admin'] },
      challengeScope: 'read',
    })
  })
  after(async () => {
    await mcp.close()
    await as.close()
  })

  it('learns issuer, resource and scope from the 401, and re-authorizes with the union on 403', async () => {
    const scopesAsked: string[] = []
    const auth = AuthorizationCodeAuth({
      clientId: 'public-client',
      redirectUri: 'http://127.0.0.1:9/cb',
      dpop: true,
      openBrowser: async (url) => {
        scopesAsked.push(url.searchParams.get('scope') ?? '')
        assert.equal(url.searchParams.get('resource'), mcp.url)
        return headless(url)
      },
    })
    const client = await MCPClient.connect(mcp.url, { auth })
    await client.callTool('echo', { text: 'a' })
    const result = await client.callTool('admin')
    assert.equal(JSON.parse((result.content as { text: string }[])[0]!.text).tool, 'admin')
    assert.deepEqual(scopesAsked, ['read', 'read admin'])
    await client.close()
  })
})
