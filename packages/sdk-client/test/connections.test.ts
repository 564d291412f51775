import assert from 'node:assert/strict'
import { after, before, beforeEach, describe, it } from 'node:test'
import { openCredentialEnvelope } from '@dauth/protocol'
import { AttestationRefusedError, ClientCredentialsAuth, DAuthConnections } from '@dauth/sdk-client'
import { startStubAs, type AttestationMode, type StubAs } from './helpers/stubAs.ts'

describe('DAuthConnections', () => {
  let as: StubAs
  let connections: DAuthConnections
  before(async () => {
    as = await startStubAs()
    connections = new DAuthConnections({
      issuer: as.issuer,
      auth: ClientCredentialsAuth({
        issuer: as.issuer,
        clientId: 'cc-client',
        clientSecret: 'cc-secret',
        resource: `${as.issuer}/connections`,
        scope: 'connections:read connections:write',
        dpop: true,
      }),
      attestation: { platformJwk: as.platformJwk, measurements: [as.measurement] },
    })
  })
  beforeEach(() => {
    as.attestationMode = 'ok'
    as.envelopes.clear()
  })
  after(() => as.close())

  it('creates a connection: attests, seals the exact binding and secret, uploads, zeroes the secret', async () => {
    const secret = new TextEncoder().encode('ghp_canary_secret_123')
    as.server.requests.length = 0
    const created = await connections.create({
      name: 'github',
      provider: 'github',
      secret,
      allowedHosts: ['api.github.com'],
      inject: { type: 'bearer' },
    })
    assert.deepEqual(created, { connectionId: 'conn-1', handle: 'handle-conn-1', name: 'github' })
    assert.ok(
      secret.every((b) => b === 0),
      'the caller secret buffer is zeroed',
    )

    const envelope = as.envelopes.get('conn-1')!
    assert.equal(envelope.kid, as.boxKid)
    const opened = openCredentialEnvelope(envelope, (kid) =>
      kid === as.boxKid ? as.boxKey : undefined,
    )
    assert.deepEqual(opened.binding, {
      v: 1,
      connection_id: 'conn-1',
      upload_nonce: 'upload-nonce-1',
      owner: { iss: as.issuer, sub: 'cc-client' },
      provider: 'github',
      allowed_hosts: ['api.github.com'],
      inject: { type: 'bearer' },
    })
    assert.equal(
      opened.secret.use((b) => new TextDecoder().decode(b)),
      'ghp_canary_secret_123',
    )

    const log = as.server.requests.map((r) => `${r.method} ${r.url.pathname}`)
    assert.deepEqual(
      log.filter((l) => !l.includes('/token') && !l.includes('well-known')),
      ['POST /connections', 'GET /enclave/attestation', 'PUT /connections/conn-1/credential'],
    )
    const attestationRequest = as.server.requests.find((r) => r.path === '/enclave/attestation')!
    const nonce = attestationRequest.url.searchParams.get('nonce')!
    assert.equal(Buffer.from(nonce, 'base64url').length, 32)
    // The vault token was requested for <issuer>/connections.
    assert.equal(as.tokenRequests().at(-1)!.get('resource'), `${as.issuer}/connections`)
    // Nothing on the wire carries the plaintext secret.
    for (const r of as.server.requests) assert.ok(!r.body.includes('ghp_canary_secret_123'))
  })

  it('accepts a string secret and other injections', async () => {
    const created = await connections.create({
      name: 'demo',
      provider: 'demo',
      secret: 'str-secret',
      allowedHosts: ['localhost:4300'],
      inject: { type: 'header', name: 'X-Api-Key', template: '{secret}' },
    })
    const opened = openCredentialEnvelope(as.envelopes.get(created.connectionId)!, () => as.boxKey)
    assert.equal(
      opened.secret.use((b) => new TextDecoder().decode(b)),
      'str-secret',
    )
    assert.deepEqual(opened.binding.inject, {
      type: 'header',
      name: 'X-Api-Key',
      template: '{secret}',
    })
  })

  const refusals: [AttestationMode, string][] = [
    ['wrong-platform-key', 'ERR_ATTESTATION_SIGNATURE'],
    ['unknown-measurement', 'ERR_ATTESTATION_MEASUREMENT'],
    ['stale', 'ERR_ATTESTATION_STALE'],
    ['wrong-nonce', 'ERR_ATTESTATION_NONCE'],
    ['debug', 'ERR_ATTESTATION_DEBUG'],
    ['pk-swapped', 'ERR_ATTESTATION_SIGNATURE'],
  ]
  for (const [mode, code] of refusals) {
    it(`refuses to seal when the attestation is ${mode} (${code}); nothing is uploaded`, async () => {
      as.attestationMode = mode
      as.server.requests.length = 0
      const secret = new TextEncoder().encode('canary')
      await assert.rejects(
        connections.create({
          name: 'x',
          provider: 'x',
          secret,
          allowedHosts: ['h.example'],
          inject: { type: 'bearer' },
        }),
        (e: unknown) => {
          assert.ok(e instanceof AttestationRefusedError)
          assert.equal(e.code, 'ERR_ATTESTATION_REFUSED')
          assert.equal(e.attestationCode, code)
          return true
        },
      )
      assert.equal(as.server.requests.filter((r) => r.method === 'PUT').length, 0)
      assert.equal(as.envelopes.size, 0)
      assert.ok(
        secret.every((b) => b === 0),
        'zeroed on failure too',
      )
    })
  }

  it('lists and revokes', async () => {
    const created = await connections.create({
      name: 'gone',
      provider: 'p',
      secret: 's',
      allowedHosts: ['h.example'],
      inject: { type: 'bearer' },
    })
    const listed = await connections.list()
    const entry = listed.find((c) => c.connectionId === created.connectionId)
    assert.deepEqual(entry, {
      connectionId: created.connectionId,
      name: 'gone',
      provider: 'p',
      status: 'active',
      handle: created.handle,
      createdAt: '2026-01-01T00:00:00Z',
    })
    await connections.revoke(created.connectionId)
    const after = await connections.list()
    assert.equal(after.find((c) => c.connectionId === created.connectionId)?.status, 'revoked')
  })
})
