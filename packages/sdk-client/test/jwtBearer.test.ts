import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import {
  authFetch,
  AuthorizationServerError,
  JWT_BEARER_GRANT_TYPE,
  JwtBearerAuth,
  requestIdJag,
} from '@dauth/sdk-client'
import { header, json, startStub, type StubServer } from './helpers/http.ts'

describe('JwtBearerAuth (RFC 7523) and requestIdJag (RFC 8693 → ID-JAG)', () => {
  let idp: StubServer
  let as: StubServer
  let rs: StubServer
  let refuse = false
  before(async () => {
    idp = await startStub((_req, res) =>
      json(res, 200, {
        access_token: 'id-jag-1',
        issued_token_type: 'urn:ietf:params:oauth:token-type:id-jag',
        token_type: 'N_A',
      }),
    )
    as = await startStub((_req, res, rec) => {
      if (rec.path === '/.well-known/oauth-authorization-server') {
        return json(res, 200, { issuer: as.url, token_endpoint: `${as.url}/token` })
      }
      if (refuse) return json(res, 400, { error: 'invalid_grant', error_description: 'expired' })
      return json(res, 200, { access_token: 'at-1', token_type: 'Bearer', expires_in: 300 })
    })
    rs = await startStub((_req, res, rec) => {
      const prm = '/.well-known/oauth-protected-resource/mcp'
      if (rec.path === prm)
        return json(res, 200, { resource: `${rs.url}/mcp`, authorization_servers: [as.url] })
      if (header(rec, 'authorization') === 'Bearer at-1') return json(res, 200, { ok: true })
      return json(
        res,
        401,
        { error: 'invalid_token' },
        {
          'www-authenticate': `Bearer resource_metadata="${rs.url}${prm}", scope="mcp:read"`,
        },
      )
    })
  })
  after(async () => {
    await rs.close()
    await as.close()
    await idp.close()
  })

  it('exchanges the ID token for an ID-JAG for the discovered AS and resource, then presents it with client_secret_basic', async () => {
    const fetchWithAuth = authFetch(
      JwtBearerAuth({
        clientId: 'app',
        clientSecret: 's3cret',
        assertion: ({ issuer, resource, scopes }) =>
          requestIdJag({
            tokenEndpoint: `${idp.url}/token`,
            idToken: 'id-token-1',
            clientId: 'idp-app',
            audience: issuer,
            resource: resource!,
            scope: scopes.join(' '),
          }),
      }),
    )
    assert.equal((await fetchWithAuth(`${rs.url}/mcp`)).status, 200)
    assert.deepEqual(Object.fromEntries(new URLSearchParams(idp.requests[0]!.body)), {
      grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
      subject_token: 'id-token-1',
      subject_token_type: 'urn:ietf:params:oauth:token-type:id_token',
      requested_token_type: 'urn:ietf:params:oauth:token-type:id-jag',
      audience: as.url,
      resource: `${rs.url}/mcp`,
      scope: 'mcp:read',
      client_id: 'idp-app',
    })
    const token = as.requests.find((r) => r.path === '/token')!
    assert.equal(header(token, 'authorization'), `Basic ${btoa('app:s3cret')}`)
    assert.deepEqual(Object.fromEntries(new URLSearchParams(token.body)), {
      grant_type: JWT_BEARER_GRANT_TYPE,
      assertion: 'id-jag-1',
      resource: `${rs.url}/mcp`,
      scope: 'mcp:read',
    })
  })

  it('surfaces an AS refusal without retrying the grant', async () => {
    refuse = true
    as.requests.length = 0
    const fetchWithAuth = authFetch(JwtBearerAuth({ clientId: 'workload', assertion: 'wif-jwt' }))
    await assert.rejects(fetchWithAuth(`${rs.url}/mcp`), (error: unknown) => {
      assert.ok(error instanceof AuthorizationServerError)
      assert.equal(error.error, 'invalid_grant')
      return true
    })
    const tokenRequests = as.requests.filter((r) => r.path === '/token')
    assert.equal(tokenRequests.length, 1)
    assert.deepEqual(Object.fromEntries(new URLSearchParams(tokenRequests[0]!.body)), {
      grant_type: JWT_BEARER_GRANT_TYPE,
      assertion: 'wif-jwt',
      resource: `${rs.url}/mcp`,
      scope: 'mcp:read',
      client_id: 'workload',
    })
  })
})
