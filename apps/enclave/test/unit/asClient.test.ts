/**
 * The worker's client of the AS (wire.md "Connection vault") against the stub AS: the
 * envelope read of every dispatch goes over one kept-alive connection, the DPoP nonce and
 * the client token are obtained once, a missing handle is `undefined`, and an AS that
 * redirects, answers too much or is gone is `AsUnavailableError` (never followed, never
 * buffered without limit).
 */
import assert from 'node:assert/strict'
import { createServer } from 'node:http'
import type { Server, ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { after, before, describe, it } from 'node:test'
import { generateBoxKeyPair } from '@dauth/protocol'
import { AsUnavailableError, AuthorizationServerClient } from '../../src/worker/asClient.ts'
import { DpopSigner } from '../../src/worker/dpopSigner.ts'
import { addConnection } from '../fixtures/client.ts'
import { makeEnclaveClientKey, startStubAs } from '../fixtures/stubAs.ts'
import type { EnclaveClientKey, StubAs } from '../fixtures/stubAs.ts'

let as: StubAs
let clientKey: EnclaveClientKey

before(async () => {
  clientKey = await makeEnclaveClientKey()
  as = await startStubAs(clientKey)
})
after(async () => {
  await as?.close()
})

async function client(issuer: string): Promise<AuthorizationServerClient> {
  return new AuthorizationServerClient({
    issuer,
    clientId: 'dauth-enclave',
    clientJwk: clientKey.privateJwk,
    dpop: await DpopSigner.generate(),
  })
}

/** A plain HTTP server answering every request with `answer`. */
async function serve(
  answer: (res: ServerResponse) => void,
): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => {
    req.resume()
    answer(res)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()))
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server }
}

async function rejectsAs(promise: Promise<unknown>, reason: string): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof AsUnavailableError)
    assert.equal(error.reason, reason)
    return true
  })
}

describe('AuthorizationServerClient', () => {
  it('reads envelopes over one kept-alive connection, with one token for all reads', async () => {
    const box = generateBoxKeyPair()
    const record = addConnection(as, {
      sub: 'alice',
      secret: new TextEncoder().encode('s3cret'),
      inject: { type: 'bearer' },
      allowedHosts: ['api.example.com'],
      recipient: { kid: 'box-1', publicKey: box.publicKey },
    })
    const asClient = await client(as.issuer)
    try {
      const first = await asClient.fetchEnvelopeRecord(record.handle)
      assert.equal(first?.handle, record.handle)
      assert.equal(first?.connection_id, record.connection_id)
      assert.deepEqual(first?.envelope, record.envelope)
      const connections = as.counts.connections
      const tokens = as.counts.token
      const reads = as.counts.envelopes
      for (let i = 0; i < 5; i++) {
        const again = await asClient.fetchEnvelopeRecord(record.handle)
        assert.equal(again?.connection_id, record.connection_id)
      }
      assert.equal(as.counts.envelopes - reads, 5)
      assert.equal(as.counts.token, tokens)
      assert.equal(as.counts.connections, connections)
      assert.equal(await asClient.fetchEnvelopeRecord('h_unknown'), undefined)
    } finally {
      await asClient.close()
    }
  })

  it('does not follow a redirect of the AS', async () => {
    let target = 0
    const sink = await serve((res) => {
      target += 1
      res.end('{}')
    })
    const redirecting = await serve((res) => {
      res.writeHead(302, { location: `${sink.url}/.well-known/oauth-authorization-server` })
      res.end()
    })
    const asClient = await client(redirecting.url)
    try {
      await rejectsAs(asClient.metadata(), 'metadata_status')
      assert.equal(target, 0)
    } finally {
      await asClient.close()
      redirecting.server.close()
      sink.server.close()
    }
  })

  it('refuses an answer over 1 MiB', async () => {
    const huge = await serve((res) => {
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end(`{"issuer":"${'x'.repeat(1024 * 1024)}"}`)
    })
    const asClient = await client(huge.url)
    try {
      await rejectsAs(asClient.metadata(), 'answer_too_large')
    } finally {
      await asClient.close()
      huge.server.closeAllConnections()
      huge.server.close()
    }
  })

  it('maps an unreachable AS to AsUnavailableError', async () => {
    const gone = await serve((res) => res.end())
    gone.server.close()
    const asClient = await client(gone.url)
    try {
      await rejectsAs(asClient.fetchEnvelopeRecord('h_x'), 'metadata_fetch')
    } finally {
      await asClient.close()
    }
  })
})
