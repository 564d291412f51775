import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createDpopProof, generateDpopKeyPair } from '@dauth/protocol'
import {
  ALICE,
  ENCLAVE_URL,
  MCP_CLIENT,
  MCP_RESOURCE,
  clientCredentialsToken,
  createActiveConnection,
  dpopRequest,
  startTestServer,
  testEnvelope,
  tokenRequest,
} from './helpers.ts'

test('logs never contain tokens, proofs, client secrets, envelopes or passwords (canary)', async () => {
  const lines: string[] = []
  const server = await startTestServer({
    logger: { level: 'trace' },
    logStream: { write: (line) => lines.push(line) },
  })
  const secrets: string[] = [ALICE.client_secret, MCP_CLIENT.client_secret, testEnvelope().ct]
  try {
    const key = await generateDpopKeyPair()
    const { handle, token: vaultToken } = await createActiveConnection(server, ALICE, key)
    secrets.push(vaultToken)
    const subject = await clientCredentialsToken(server, ALICE, key, MCP_RESOURCE, 'read')
    secrets.push(subject)
    const proof = await createDpopProof(key, { htm: 'POST', htu: server.tokenEndpoint })
    secrets.push(proof)
    const exchanged = await tokenRequest(
      server,
      {
        grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
        subject_token: subject,
        subject_token_type: 'urn:ietf:params:oauth:token-type:access_token',
        resource: ENCLAVE_URL,
        connections: handle,
      },
      { client: MCP_CLIENT, dpop: proof },
    )
    assert.equal(exchanged.status, 200)
    secrets.push(exchanged.body.access_token as string)
    // Failure paths: replayed proof, bad token at the vault, wrong secret.
    await tokenRequest(
      server,
      { grant_type: 'client_credentials', resource: MCP_RESOURCE },
      { client: ALICE, dpop: proof },
    )
    const bogus = `${vaultToken.slice(0, -4)}AAAA`
    secrets.push(bogus)
    assert.equal((await dpopRequest(`${server.url}/connections`, 'GET', bogus, key)).status, 401)
    await tokenRequest(
      server,
      { grant_type: 'client_credentials', resource: MCP_RESOURCE },
      { client: { ...ALICE, client_secret: 'canary-wrong-secret-123' } },
    )
    secrets.push('canary-wrong-secret-123')
  } finally {
    await server.close()
  }
  const log = lines.join('')
  assert.ok(log.includes('"msg":"listening"'), 'the capture works')
  for (const secret of secrets) {
    assert.equal(log.includes(secret), false)
    assert.equal(log.includes(secret.slice(0, 40)), false)
  }
})
