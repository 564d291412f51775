import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { createDpopProof, generateDpopKeyPair, type DpopKeyPair } from '@dauth/protocol'
import {
  ALICE,
  BOB,
  ENCLAVE_URL,
  MCP_CLIENT,
  MCP_RESOURCE,
  OTHER_MCP_CLIENT,
  clientCredentialsToken,
  createActiveConnection,
  decode,
  dpopRequest,
  startTestServer,
  tokenRequest,
  type TestServer,
} from './helpers.ts'

const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange'
const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token'

describe('RFC 8693 token exchange for dispatch', () => {
  let server: TestServer
  let aliceKey: DpopKeyPair
  let mcpKey: DpopKeyPair
  let handle: string
  let connectionId: string
  let vaultToken: string
  let subjectToken: string

  before(async () => {
    server = await startTestServer()
    aliceKey = await generateDpopKeyPair()
    mcpKey = await generateDpopKeyPair()
    ;({
      handle,
      connectionId,
      token: vaultToken,
    } = await createActiveConnection(server, ALICE, aliceKey, 'demo'))
    subjectToken = await clientCredentialsToken(server, ALICE, aliceKey, MCP_RESOURCE, 'read')
  })
  after(() => server.close())

  async function exchange(
    params: Record<string, string>,
    options: { client?: typeof MCP_CLIENT; key?: DpopKeyPair | null } = {},
  ): Promise<{ status: number; body: Record<string, unknown> }> {
    const key = options.key === undefined ? mcpKey : options.key
    const dpop = key
      ? await createDpopProof(key, { htm: 'POST', htu: server.tokenEndpoint })
      : undefined
    const request: Parameters<typeof tokenRequest>[2] = { client: options.client ?? MCP_CLIENT }
    if (dpop) request.dpop = dpop
    return tokenRequest(
      server,
      {
        grant_type: TOKEN_EXCHANGE,
        subject_token: subjectToken,
        subject_token_type: ACCESS_TOKEN_TYPE,
        resource: ENCLAVE_URL,
        connections: handle,
        ...params,
      },
      request,
    )
  }

  test('issues a ≤ 60 s DPoP-bound dispatch token for the enclave', async () => {
    const res = await exchange({})
    assert.equal(res.status, 200)
    assert.deepEqual(Object.keys(res.body).sort(), [
      'access_token',
      'expires_in',
      'issued_token_type',
      'token_type',
    ])
    assert.equal(res.body.token_type, 'DPoP')
    assert.equal(res.body.expires_in, 60)
    assert.equal(res.body.issued_token_type, ACCESS_TOKEN_TYPE)
    const { header, claims } = decode(res.body.access_token as string)
    assert.equal(header.typ, 'at+jwt')
    assert.equal(header.alg, 'ES256')
    assert.equal(header.kid, decode(subjectToken).header.kid)
    assert.equal(claims.iss, server.url)
    assert.equal(claims.sub, ALICE.client_id)
    assert.equal(claims.aud, ENCLAVE_URL)
    assert.equal(claims.client_id, MCP_CLIENT.client_id)
    assert.deepEqual(claims.act, { sub: MCP_CLIENT.client_id })
    assert.deepEqual(claims.connections, { demo: handle })
    assert.deepEqual(claims.cnf, { jkt: mcpKey.jkt })
    assert.equal((claims.exp as number) - (claims.iat as number), 60)
  })

  test('refuses a subject token issued for a resource the client may not dispatch for', async () => {
    // Alice's token for the vault, not for the MCP server.
    const res = await exchange({ subject_token: vaultToken })
    assert.equal(res.status, 400)
    assert.deepEqual(res.body, {
      error: 'invalid_grant',
      error_description: 'subject token was not issued for a resource this client may dispatch for',
    })
  })

  test('refuses another MCP server presenting a token issued for this one', async () => {
    const res = await exchange({}, { client: OTHER_MCP_CLIENT })
    assert.equal(res.status, 400)
    assert.deepEqual(res.body, {
      error: 'invalid_grant',
      error_description: 'subject token was not issued for a resource this client may dispatch for',
    })
  })

  test('refuses a handle the subject token does not carry (another owner)', async () => {
    const bobKey = await generateDpopKeyPair()
    const bob = await createActiveConnection(server, BOB, bobKey, 'demo')
    for (const connections of [bob.handle, `${handle} ${bob.handle}`]) {
      const res = await exchange({ connections })
      assert.equal(res.status, 400)
      assert.deepEqual(res.body, {
        error: 'invalid_grant',
        error_description: 'a requested connection is not carried by the subject token',
      })
    }
  })

  test('refuses a forged or foreign subject token', async () => {
    const [h, p] = subjectToken.split('.')
    const res = await exchange({ subject_token: `${h}.${p}.${'A'.repeat(86)}` })
    assert.equal(res.status, 400)
    assert.deepEqual(res.body, {
      error: 'invalid_grant',
      error_description: 'subject token is invalid or expired',
    })
  })

  test('refuses a resource other than the enclave', async () => {
    const res = await exchange({ resource: MCP_RESOURCE })
    assert.equal(res.status, 400)
    assert.deepEqual(res.body, {
      error: 'invalid_target',
      error_description: 'the resource must be the enclave',
    })
  })

  test('refuses missing parameters and a missing DPoP proof', async () => {
    const missing = await exchange({ connections: '' })
    assert.equal(missing.status, 400)
    assert.deepEqual(missing.body, {
      error: 'invalid_request',
      error_description: "missing required parameter 'connections'",
    })
    const noDpop = await exchange({}, { key: null })
    assert.equal(noDpop.status, 400)
    assert.deepEqual(noDpop.body, {
      error: 'invalid_dpop_proof',
      error_description: 'a DPoP proof is required for token exchange',
    })
  })

  test('refuses a client that is not allowed the grant', async () => {
    const res = await exchange({}, { client: ALICE })
    assert.equal(res.status, 400)
    assert.deepEqual(res.body, {
      error: 'invalid_request',
      error_description: 'requested grant type is not allowed for this client',
    })
  })

  test('refuses a revoked connection, even though the subject token still carries it', async () => {
    const revoked = await dpopRequest(
      `${server.url}/connections/${connectionId}`,
      'DELETE',
      vaultToken,
      aliceKey,
    )
    assert.equal(revoked.status, 204)
    const res = await exchange({})
    assert.equal(res.status, 400)
    assert.deepEqual(res.body, {
      error: 'invalid_grant',
      error_description: 'a requested connection is not active',
    })
  })
})
