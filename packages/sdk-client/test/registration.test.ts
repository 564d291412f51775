import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { AuthorizationServerError, registerClient } from '@dauth/sdk-client'
import { header } from './helpers/http.ts'
import { startStubAs, type StubAs } from './helpers/stubAs.ts'

describe('registerClient (RFC 7591)', () => {
  let as: StubAs
  before(async () => {
    as = await startStubAs({ initialAccessToken: 'iat-1' })
  })
  after(() => as.close())

  it('discovers the registration endpoint and sends the metadata with the initial access token', async () => {
    as.server.requests.length = 0
    const metadata = {
      grant_types: ['client_credentials'],
      response_types: [],
      token_endpoint_auth_method: 'client_secret_basic',
      dpop_bound_access_tokens: true,
    }
    const client = await registerClient(as.issuer, metadata, { initialAccessToken: 'iat-1' })
    assert.equal(client.client_id, 'dyn-1')
    assert.equal(client.client_secret, 'secret-1')
    const request = as.server.requests.at(-1)!
    assert.equal(request.path, '/register')
    assert.equal(header(request, 'authorization'), 'Bearer iat-1')
    assert.equal(header(request, 'content-type'), 'application/json')
    assert.deepEqual(JSON.parse(request.body), metadata)
  })

  it('surfaces the RFC 7591 error', async () => {
    await assert.rejects(
      registerClient(as.issuer, { redirect_uris: [] }, { initialAccessToken: 'iat-1' }),
      (e: unknown) => {
        assert.ok(e instanceof AuthorizationServerError)
        assert.equal(e.error, 'invalid_client_metadata')
        assert.equal(e.status, 400)
        return true
      },
    )
    await assert.rejects(
      registerClient(as.issuer, { grant_types: [] }),
      (e: unknown) => e instanceof AuthorizationServerError && e.status === 401,
    )
  })
})
