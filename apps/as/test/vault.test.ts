import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import {
  createDpopProof,
  generateDpopKeyPair,
  parseWwwAuthenticate,
  type DpopKeyPair,
} from '@dauth/protocol'
import {
  ALICE,
  BOB,
  MCP_RESOURCE,
  clientCredentialsToken,
  dpopRequest,
  enclaveToken,
  startTestServer,
  testEnvelope,
  type TestServer,
} from './helpers.ts'

describe('connection vault API', () => {
  let server: TestServer
  let aliceKey: DpopKeyPair
  let bobKey: DpopKeyPair
  let alice: string
  let bob: string
  let url: string

  before(async () => {
    server = await startTestServer()
    url = `${server.url}/connections`
    aliceKey = await generateDpopKeyPair()
    bobKey = await generateDpopKeyPair()
    const scope = 'connections:read connections:write'
    alice = await clientCredentialsToken(server, ALICE, aliceKey, url, scope)
    bob = await clientCredentialsToken(server, BOB, bobKey, url, scope)
  })
  after(() => server.close())

  test('create → upload → list → revoke, and the enclave reads the envelope by handle', async () => {
    const created = await dpopRequest(url, 'POST', alice, aliceKey, {
      name: 'demo',
      provider: 'github',
    })
    assert.equal(created.status, 201)
    const body = created.body as Record<string, unknown>
    assert.deepEqual(Object.keys(body).sort(), [
      'connection_id',
      'expires_at',
      'owner',
      'status',
      'upload_nonce',
    ])
    assert.match(body.connection_id as string, /^conn_[A-Za-z0-9_-]{43}$/)
    assert.match(body.upload_nonce as string, /^[A-Za-z0-9_-]{43}$/)
    assert.deepEqual(body.owner, { iss: server.url, sub: ALICE.client_id })
    assert.equal(body.status, 'pending')
    const now = Math.floor(Date.now() / 1000)
    assert.ok(Math.abs((body.expires_at as number) - (now + 600)) <= 2)
    const id = body.connection_id as string

    const envelope = testEnvelope()
    const uploaded = await dpopRequest(`${url}/${id}/credential`, 'PUT', alice, aliceKey, {
      envelope,
    })
    assert.equal(uploaded.status, 200)
    const { handle } = uploaded.body as { handle: string }
    assert.match(handle, /^hdl_[A-Za-z0-9_-]{43}$/)
    assert.deepEqual(uploaded.body, { handle, name: 'demo', status: 'active' })

    const again = await dpopRequest(`${url}/${id}/credential`, 'PUT', alice, aliceKey, { envelope })
    assert.equal(again.status, 409)
    assert.deepEqual(again.body, {
      error: 'conflict',
      error_description: 'The connection is not awaiting a credential',
    })

    const list = await dpopRequest(url, 'GET', alice, aliceKey)
    assert.equal(list.status, 200)
    const items = (list.body as { connections: Record<string, unknown>[] }).connections
    assert.equal(items.length, 1)
    assert.deepEqual(items[0], {
      connection_id: id,
      name: 'demo',
      provider: 'github',
      status: 'active',
      handle,
      created_at: items[0]?.created_at,
    })
    assert.equal(JSON.stringify(list.body).includes(envelope.ct), false)

    // The enclave (private_key_jwt client) fetches the envelope by handle.
    const enclaveKey = await generateDpopKeyPair()
    const enclave = await enclaveToken(server, enclaveKey)
    const envUrl = `${server.url}/enclave/envelopes/${handle}`
    const fetched = await dpopRequest(envUrl, 'GET', enclave, enclaveKey)
    assert.equal(fetched.status, 200)
    assert.deepEqual(fetched.body, {
      handle,
      connection_id: id,
      name: 'demo',
      provider: 'github',
      owner: { iss: server.url, sub: ALICE.client_id },
      upload_nonce: body.upload_nonce,
      envelope,
    })

    // Bob can neither see, upload to, nor revoke Alice's connection: same answer as unknown.
    const bobList = await dpopRequest(url, 'GET', bob, bobKey)
    assert.deepEqual(bobList.body, { connections: [] })
    for (const [path, method, payload] of [
      [`${url}/${id}/credential`, 'PUT', { envelope }],
      [`${url}/${id}`, 'DELETE', undefined],
      [`${url}/conn_${'A'.repeat(43)}`, 'DELETE', undefined],
    ] as const) {
      const res = await dpopRequest(path, method, bob, bobKey, payload)
      assert.equal(res.status, 404)
      assert.deepEqual(res.body, { error: 'not_found', error_description: 'Connection not found' })
    }

    const revoked = await dpopRequest(`${url}/${id}`, 'DELETE', alice, aliceKey)
    assert.equal(revoked.status, 204)
    const after = await dpopRequest(url, 'GET', alice, aliceKey)
    const revokedItem = (after.body as { connections: Record<string, unknown>[] }).connections[0]
    assert.equal(revokedItem?.status, 'revoked')
    assert.equal(revokedItem?.handle, null)
    const gone = await dpopRequest(envUrl, 'GET', enclave, enclaveKey)
    assert.equal(gone.status, 404)
    assert.deepEqual(gone.body, { error: 'not_found', error_description: 'Envelope not found' })
  })

  test('a new connection of the same name supersedes the active one when it becomes active', async () => {
    const make = async (): Promise<{ id: string; handle: string }> => {
      const c = await dpopRequest(url, 'POST', bob, bobKey, { name: 'svc', provider: 'demo' })
      const id = (c.body as { connection_id: string }).connection_id
      const u = await dpopRequest(`${url}/${id}/credential`, 'PUT', bob, bobKey, {
        envelope: testEnvelope(),
      })
      return { id, handle: (u.body as { handle: string }).handle }
    }
    const first = await make()
    const second = await make()
    const list = (await dpopRequest(url, 'GET', bob, bobKey)).body as {
      connections: Record<string, unknown>[]
    }
    const byId = new Map(list.connections.map((c) => [c.connection_id, c]))
    assert.equal(byId.get(first.id)?.status, 'revoked')
    assert.equal(byId.get(second.id)?.status, 'active')
    assert.equal(byId.get(second.id)?.handle, second.handle)
  })

  test('validates name, provider and envelope', async () => {
    const badName = await dpopRequest(url, 'POST', alice, aliceKey, {
      name: 'Bad Name',
      provider: 'github',
    })
    assert.equal(badName.status, 400)
    assert.deepEqual(badName.body, {
      error: 'invalid_request',
      error_description: 'name must match ^[a-z0-9][a-z0-9_-]{0,62}$',
    })
    const created = await dpopRequest(url, 'POST', alice, aliceKey, { name: 'x', provider: 'p' })
    const id = (created.body as { connection_id: string }).connection_id
    const badEnvelope = await dpopRequest(`${url}/${id}/credential`, 'PUT', alice, aliceKey, {
      envelope: { ...testEnvelope(), alg: 'none' },
    })
    assert.equal(badEnvelope.status, 400)
    assert.deepEqual(badEnvelope.body, {
      error: 'invalid_request',
      error_description: 'envelope is not a valid credential envelope',
    })
  })

  test('requires a DPoP-bound token for the vault with the right scope', async () => {
    const none = await fetch(url)
    assert.equal(none.status, 401)
    const [challenge] = parseWwwAuthenticate(none.headers.get('www-authenticate') ?? '')
    assert.equal(challenge?.scheme, 'DPoP')
    const metadataUrl = `${server.url}/.well-known/oauth-protected-resource/connections`
    assert.equal(challenge?.params.resource_metadata, metadataUrl)
    const prm = await fetch(metadataUrl)
    assert.equal(prm.status, 200)
    assert.deepEqual(await prm.json(), {
      resource: url,
      authorization_servers: [server.url],
      scopes_supported: ['connections:read', 'connections:write'],
      bearer_methods_supported: ['header'],
      dpop_signing_alg_values_supported: ['ES256', 'EdDSA'],
      dpop_bound_access_tokens_required: true,
    })
    assert.deepEqual(await none.json(), {
      error: 'invalid_token',
      error_description: 'Missing DPoP access token',
    })

    // A token for another resource (the MCP server) is refused by audience.
    const mcpToken = await clientCredentialsToken(server, ALICE, aliceKey, MCP_RESOURCE, 'read')
    const wrongAud = await dpopRequest(url, 'GET', mcpToken, aliceKey)
    assert.equal(wrongAud.status, 401)
    assert.deepEqual(wrongAud.body, {
      error: 'invalid_token',
      error_description: 'Invalid access token',
    })

    // DPoP-bound token sent as Bearer.
    const bearer = await fetch(url, { headers: { authorization: `Bearer ${alice}` } })
    assert.equal(bearer.status, 401)

    // Proof by another key than cnf.jkt.
    const otherKey = await generateDpopKeyPair()
    const foreign = await createDpopProof(otherKey, { htm: 'GET', htu: url, accessToken: alice })
    const wrongKey = await dpopRequest(url, 'GET', alice, aliceKey, undefined, foreign)
    assert.equal(wrongKey.status, 401)
    assert.deepEqual(wrongKey.body, {
      error: 'invalid_dpop_proof',
      error_description: 'Invalid DPoP proof',
    })
    const params = parseWwwAuthenticate(wrongKey.headers.get('www-authenticate') ?? '')[0]?.params
    assert.equal(params?.error, 'invalid_dpop_proof')

    // Replayed proof.
    const proof = await createDpopProof(aliceKey, { htm: 'GET', htu: url, accessToken: alice })
    assert.equal((await dpopRequest(url, 'GET', alice, aliceKey, undefined, proof)).status, 200)
    const replay = await dpopRequest(url, 'GET', alice, aliceKey, undefined, proof)
    assert.equal(replay.status, 401)
    assert.deepEqual(replay.body, {
      error: 'invalid_dpop_proof',
      error_description: 'Invalid DPoP proof',
    })

    // Read-only token cannot write.
    const readOnly = await clientCredentialsToken(server, ALICE, aliceKey, url, 'connections:read')
    const denied = await dpopRequest(url, 'POST', readOnly, aliceKey, { name: 'x', provider: 'p' })
    assert.equal(denied.status, 403)
    assert.deepEqual(denied.body, {
      error: 'insufficient_scope',
      error_description: 'The connections:write scope is required',
    })
    const scopeParams = parseWwwAuthenticate(denied.headers.get('www-authenticate') ?? '')[0]
      ?.params
    assert.equal(scopeParams?.scope, 'connections:write')
  })

  test('enclave envelopes are refused to a non-enclave token, and bodies have limits', async () => {
    const res = await dpopRequest(
      `${server.url}/enclave/envelopes/hdl_${'A'.repeat(43)}`,
      'GET',
      alice,
      aliceKey,
    )
    assert.equal(res.status, 401)
    const big = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'DPoP x' },
      body: JSON.stringify({ name: 'x'.repeat(200 * 1024) }),
    })
    assert.equal(big.status, 413)
    assert.deepEqual(await big.json(), {
      error: 'payload_too_large',
      error_description: 'Request body too large',
    })
  })
})
