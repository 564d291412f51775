import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { authFetch, AuthorizationCodeAuth } from '@dauth/sdk-client'
import { header, json, startStub, type StubServer } from './helpers/http.ts'
import { startStubAs, type StubAs } from './helpers/stubAs.ts'

const headless = async (url: URL): Promise<string> => {
  const response = await fetch(url, { redirect: 'manual' })
  return response.headers.get('location')!
}

describe('authorization server change (SEP-2352)', () => {
  let as1: StubAs
  let as2: StubAs
  let current: StubAs
  let rs: StubServer
  before(async () => {
    as1 = await startStubAs()
    as2 = await startStubAs()
    current = as1
    rs = await startStub((_req, res, rec) => {
      const prmPath = '/.well-known/oauth-protected-resource/mcp'
      if (rec.path === prmPath) {
        return json(res, 200, {
          resource: `${rs.url}/mcp`,
          authorization_servers: [current.issuer],
        })
      }
      const token = header(rec, 'authorization')?.replace(/^Bearer /, '')
      if (token === undefined || !current.tokens.has(token)) {
        return json(
          res,
          401,
          { error: 'invalid_token' },
          {
            'www-authenticate': `Bearer resource_metadata="${rs.url}${prmPath}"`,
          },
        )
      }
      return json(res, 200, { ok: true })
    })
  })
  after(async () => {
    await rs.close()
    await as1.close()
    await as2.close()
  })

  it('re-reads the resource metadata on a refused token, registers anew at the new AS and never shows it the old client', async () => {
    const fetchWithAuth = authFetch(
      AuthorizationCodeAuth({ redirectUri: 'http://127.0.0.1:9/callback', openBrowser: headless }),
    )
    assert.equal((await fetchWithAuth(`${rs.url}/mcp`)).status, 200)
    const paths = (as: StubAs): string[] => as.server.requests.map((r) => `${r.method} ${r.path}`)
    assert.deepEqual(paths(as2), [])

    current = as2
    assert.equal((await fetchWithAuth(`${rs.url}/mcp`)).status, 200)
    assert.deepEqual(paths(as2), [
      'GET /.well-known/oauth-authorization-server',
      'POST /register',
      'GET /authorize',
      'POST /token',
    ])
    // The token request at the new AS is an authorization_code grant (no refresh token of the old AS).
    const tokenForm = new URLSearchParams(as2.server.requests.at(-1)!.body)
    assert.equal(tokenForm.get('grant_type'), 'authorization_code')
    assert.equal(tokenForm.get('resource'), `${rs.url}/mcp`)
  })
})

describe('servers without protected resource metadata (MCP 2025-03-26 fallback)', () => {
  let server: StubServer
  before(async () => {
    server = await startStub((_req, res, rec) => {
      if (rec.path === '/mcp') {
        if (header(rec, 'authorization') === 'Bearer legacy-token')
          return json(res, 200, { ok: true })
        return json(res, 401, { error: 'invalid_token' }, { 'www-authenticate': 'Bearer' })
      }
      if (rec.path === '/register') return json(res, 201, { client_id: 'legacy-client' })
      if (rec.path === '/authorize') {
        const q = rec.url.searchParams
        const location = new URL(q.get('redirect_uri')!)
        location.searchParams.set('code', 'c1')
        location.searchParams.set('state', q.get('state')!)
        res.writeHead(302, { location: location.href }).end()
        return
      }
      if (rec.path === '/token') {
        return json(res, 200, {
          access_token: 'legacy-token',
          token_type: 'Bearer',
          expires_in: 60,
        })
      }
      return json(res, 404, { error: 'not_found' })
    })
  })
  after(() => server.close())

  it('uses the server origin as the AS and its default /authorize, /token and /register', async () => {
    const fetchWithAuth = authFetch(
      AuthorizationCodeAuth({ redirectUri: 'http://127.0.0.1:9/callback', openBrowser: headless }),
    )
    assert.equal((await fetchWithAuth(`${server.url}/mcp`)).status, 200)
    assert.deepEqual(
      server.requests.map((r) => `${r.method} ${r.path}`),
      [
        'GET /mcp',
        'GET /.well-known/oauth-protected-resource/mcp',
        'GET /.well-known/oauth-protected-resource',
        'GET /.well-known/oauth-authorization-server',
        'GET /.well-known/openid-configuration',
        'POST /register',
        'GET /authorize',
        'POST /token',
        'GET /mcp',
      ],
    )
    const authorize = server.requests.find((r) => r.path === '/authorize')!.url.searchParams
    assert.equal(authorize.get('client_id'), 'legacy-client')
    assert.equal(authorize.get('code_challenge_method'), 'S256')
  })

  it('can be turned off (legacyDiscovery: false): the discovery error surfaces', async () => {
    const fetchWithAuth = authFetch(
      AuthorizationCodeAuth({ redirectUri: 'http://127.0.0.1:9/callback', openBrowser: headless }),
      { legacyDiscovery: false },
    )
    await assert.rejects(fetchWithAuth(`${server.url}/mcp`), { code: 'ERR_DISCOVERY_FAILED' })
  })
})
