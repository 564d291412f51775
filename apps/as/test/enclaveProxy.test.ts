import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { startTestServer, type TestServer } from './helpers.ts'

const NONCE = Buffer.alloc(32, 1).toString('base64url')

describe('GET /enclave/attestation proxy', () => {
  let enclave: Server
  let enclaveUrl: string
  let server: TestServer
  const seen: string[] = []

  before(async () => {
    enclave = createServer((req, res) => {
      seen.push(req.url ?? '')
      const nonce = new URL(req.url ?? '/', 'http://x').searchParams.get('nonce')
      if (nonce === Buffer.alloc(32, 2).toString('base64url')) {
        res
          .writeHead(500, { 'content-type': 'application/json' })
          .end('{"error":"boom","secret":"internal"}')
        return
      }
      if (nonce === Buffer.alloc(32, 3).toString('base64url')) return // never answers
      res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ attestation: `a.${nonce}.c` }))
    })
    await new Promise<void>((resolve) => enclave.listen(0, '127.0.0.1', resolve))
    enclaveUrl = `http://127.0.0.1:${(enclave.address() as AddressInfo).port}`
    server = await startTestServer({ enclaveUrl, attestationTimeoutMs: 300 })
  })
  after(async () => {
    await server.close()
    enclave.closeAllConnections()
    await new Promise((resolve) => enclave.close(resolve))
  })

  test('proxies the enclave answer for a valid nonce', async () => {
    const res = await fetch(`${server.url}/enclave/attestation?nonce=${NONCE}`)
    assert.equal(res.status, 200)
    assert.deepEqual(await res.json(), { attestation: `a.${NONCE}.c` })
    assert.deepEqual(seen.at(-1), `/attestation?nonce=${NONCE}`)
  })

  test('refuses malformed nonces before calling the enclave', async () => {
    const before = seen.length
    for (const nonce of ['', 'short', 'A'.repeat(87), `${NONCE}%26x=1`, `${NONCE.slice(0, -1)}+`]) {
      const res = await fetch(`${server.url}/enclave/attestation?nonce=${nonce}`)
      assert.equal(res.status, 400)
      assert.deepEqual(await res.json(), {
        error: 'invalid_request',
        error_description: 'nonce must be 16 to 64 bytes of unpadded base64url',
      })
    }
    assert.equal(seen.length, before)
  })

  test('an enclave error becomes a clean 502 and a hang a 504', async () => {
    const failed = await fetch(
      `${server.url}/enclave/attestation?nonce=${Buffer.alloc(32, 2).toString('base64url')}`,
    )
    assert.equal(failed.status, 502)
    assert.deepEqual(await failed.json(), {
      error: 'bad_gateway',
      error_description: 'The enclave gave an invalid answer',
    })
    const hung = await fetch(
      `${server.url}/enclave/attestation?nonce=${Buffer.alloc(32, 3).toString('base64url')}`,
    )
    assert.equal(hung.status, 504)
    assert.deepEqual(await hung.json(), {
      error: 'gateway_timeout',
      error_description: 'The enclave did not answer in time',
    })
  })

  test('an unreachable enclave becomes a 502', async () => {
    const closed = createServer()
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve))
    const port = (closed.address() as AddressInfo).port
    await new Promise((resolve) => closed.close(resolve))
    const down = await startTestServer({ enclaveUrl: `http://127.0.0.1:${port}` })
    try {
      const res = await fetch(`${down.url}/enclave/attestation?nonce=${NONCE}`)
      assert.equal(res.status, 502)
      assert.deepEqual(await res.json(), {
        error: 'bad_gateway',
        error_description: 'The enclave is unreachable',
      })
    } finally {
      await down.close()
    }
  })
})
