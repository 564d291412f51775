import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { createServer, type Server } from 'node:net'
import { once } from 'node:events'
import { isPublicAddress, isPublicHostname } from '../src/registry/publicHost.ts'
import { MCP_RESOURCE, startTestServer, type TestServer } from './helpers.ts'

describe('Client ID Metadata Documents: no fetch to special-use addresses (SSRF)', () => {
  let server: TestServer
  let trap: Server
  let trapPort: number
  let connections = 0

  before(async () => {
    server = await startTestServer()
    trap = createServer((socket) => {
      connections++
      socket.destroy()
    })
    trap.listen(0, '127.0.0.1')
    await once(trap, 'listening')
    trapPort = (trap.address() as { port: number }).port
  })
  after(async () => {
    await server.close()
    trap.close()
  })

  test('client_id URLs on loopback hosts are refused before any connection', async () => {
    for (const clientId of [
      `https://127.0.0.1:${trapPort}/client.json`,
      `https://localhost:${trapPort}/client.json`,
    ]) {
      const query = new URLSearchParams({
        client_id: clientId,
        response_type: 'code',
        redirect_uri: `https://127.0.0.1:${trapPort}/cb`,
        scope: 'read',
        resource: MCP_RESOURCE,
        code_challenge: 'x'.repeat(43),
        code_challenge_method: 'S256',
      })
      const res = await fetch(`${server.url}/oauth/authorize?${query}`, { redirect: 'manual' })
      assert.equal(res.status, 400)
      assert.equal(res.headers.get('location'), null)
      assert.match(await res.text(), /client_id metadata document fetch not allowed/)
    }
    assert.equal(connections, 0)
  })

  test('isPublicHostname: IP literals and names resolving to special-use addresses are refused', async () => {
    const resolver = (answers: string[]) => () =>
      Promise.resolve(answers.map((address) => ({ address })))
    assert.equal(await isPublicHostname('203.0.113.10'), false)
    assert.equal(await isPublicHostname('[2606:4700::1111]'), false)
    assert.equal(await isPublicHostname('localhost'), false)
    assert.equal(await isPublicHostname('app.localhost'), false)
    assert.equal(
      await isPublicHostname('rebind.example', resolver(['93.184.215.14', '10.1.2.3'])),
      false,
    )
    assert.equal(await isPublicHostname('meta.example', resolver(['169.254.169.254'])), false)
    assert.equal(await isPublicHostname('v6.example', resolver(['fd00::1'])), false)
    assert.equal(await isPublicHostname('mapped.example', resolver(['::ffff:127.0.0.1'])), false)
    assert.equal(await isPublicHostname('nothing.example', resolver([])), false)
    assert.equal(
      await isPublicHostname(
        'client.example',
        resolver(['93.184.215.14', '2606:2800:21f:cb07:6820:80da:af6b:8b2c']),
      ),
      true,
    )
    assert.equal(isPublicAddress('100.64.0.1'), false)
    assert.equal(isPublicAddress('8.8.8.8'), true)
  })
})
