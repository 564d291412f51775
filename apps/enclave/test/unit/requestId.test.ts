/**
 * Request ids in the enclave: the worker's AS client forwards the dispatch's id on the
 * envelope fetch (and only inside a dispatch). The launcher's validation of `X-Request-Id` is
 * `requestIdFrom` of `@dauth/protocol/log` (tested there).
 */
import assert from 'node:assert/strict'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { describe, it } from 'node:test'
import { AuthorizationServerClient } from '../../src/worker/asClient.ts'
import { DpopSigner } from '../../src/worker/dpopSigner.ts'
import { runWithRequestId } from '../../src/worker/requestScope.ts'
import { makeEnclaveClientKey } from '../fixtures/stubAs.ts'

describe('request ids', () => {
  it('the AS client sends the dispatch id on its AS requests, none outside a dispatch', async () => {
    const seen: (string | undefined)[] = []
    const traces: (string | undefined)[] = []
    const server = createServer((req, res) => {
      seen.push(req.headers['x-request-id'] as string | undefined)
      traces.push(req.headers.traceparent as string | undefined)
      req.resume()
      res.writeHead(503).end()
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()))
    const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
    const asClient = new AuthorizationServerClient({
      issuer,
      clientId: 'dauth-enclave',
      clientJwk: (await makeEnclaveClientKey()).privateJwk,
      dpop: await DpopSigner.generate(),
    })
    try {
      await assert.rejects(
        runWithRequestId('disp-7', undefined, () => asClient.fetchEnvelopeRecord('h')),
      )
      await assert.rejects(asClient.fetchEnvelopeRecord('h'))
      const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01'
      await assert.rejects(
        runWithRequestId('disp-8', { traceparent, cookie: 'never-forwarded' }, () =>
          asClient.fetchEnvelopeRecord('h'),
        ),
      )
      assert.deepEqual(seen, ['disp-7', undefined, 'disp-8'])
      assert.deepEqual(traces, [undefined, undefined, traceparent])
    } finally {
      await asClient.close()
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    }
  })
})
