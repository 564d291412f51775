// The fastify adapter: an MCPServer mounted in a fastify app that keeps its own routes and
// body parsers, answering the official SDK client and the unauthenticated discovery path
// exactly as serve() does.
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { parseWwwAuthenticate } from '@dauth/protocol'
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import Fastify, { type FastifyInstance } from 'fastify'
import { MCPServer } from '../src/index.ts'
import { mcpFastify } from '../src/adapters/fastify.ts'
import { testTools } from './fixtures.ts'
import { close, listen, mintToken, startStubAs, type StubAs } from './helpers.ts'
import { createServer } from 'node:http'

describe('fastify plugin', () => {
  let as: StubAs
  let app: FastifyInstance
  let url: string
  before(async () => {
    as = await startStubAs()
    const probe = createServer()
    const port = await listen(probe)
    await close(probe)
    url = `http://localhost:${port}/mcp`
    const server = new MCPServer('fastify-server', {
      resourceUrl: url,
      authorization: { authorizationServers: [as.issuer], dpopRequired: false },
    })
    server.collect(...testTools())
    app = Fastify()
    // The app's own JSON route and parser must keep working beside the plugin.
    app.post('/app/echo', (request) => ({ got: request.body }))
    await app.register(mcpFastify, { server })
    await app.listen({ port, host: '127.0.0.1' })
  })
  after(async () => {
    await app.close()
    await as.close()
  })

  test('no token: 401 with the absolute resource_metadata, and the PRM at both well-known URLs', async () => {
    const response = await fetch(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
      },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
    })
    assert.equal(response.status, 401)
    const challenge = parseWwwAuthenticate(response.headers.get('www-authenticate') ?? '')
    const metadataUrl = `${new URL(url).origin}/.well-known/oauth-protected-resource/mcp`
    assert.equal(challenge[0]?.params.resource_metadata, metadataUrl)
    for (const path of [
      '/.well-known/oauth-protected-resource/mcp',
      '/.well-known/oauth-protected-resource',
    ]) {
      const prm = await fetch(`${new URL(url).origin}${path}`)
      assert.equal(prm.status, 200, path)
      const body = (await prm.json()) as { resource: string; authorization_servers: string[] }
      assert.equal(body.resource, url)
      assert.deepEqual(body.authorization_servers, [as.issuer])
    }
  })

  test('the official SDK client lists and calls tools through the plugin; per-tool scopes hold', async () => {
    const token = await mintToken(as, url, { claims: { scope: 'read' } })
    const client = new Client({ name: 'fastify-test', version: '1.0.0' })
    await client.connect(
      new StreamableHTTPClientTransport(new URL(url), {
        requestInit: { headers: { authorization: `Bearer ${token}` } },
      }),
    )
    try {
      const result = await client.callTool({ name: 'echo', arguments: { text: 'via fastify' } })
      assert.deepEqual(result, { content: [{ type: 'text', text: 'via fastify' }] })
      const refused = await client.callTool({ name: 'delete_file', arguments: { path: '/x' } })
      assert.deepEqual(refused, {
        content: [
          {
            type: 'text',
            text: `Tool "delete_file" requires scopes: ['files:delete']. Missing: ['files:delete']`,
          },
        ],
        isError: true,
      })
    } finally {
      await client.close()
    }
  })

  test('DNS rebinding: a foreign Host is refused with 403 as under serve()', async () => {
    const { request } = await import('node:http')
    const target = new URL(url)
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(
        {
          host: '127.0.0.1',
          port: target.port,
          path: '/mcp',
          method: 'POST',
          headers: { host: 'evil.example', 'content-type': 'application/json' },
        },
        (res) => {
          res.resume()
          resolve(res.statusCode ?? 0)
        },
      )
      req.on('error', reject)
      req.end('{}')
    })
    assert.equal(status, 403)
  })

  test("the app's own routes and JSON parser are untouched", async () => {
    const response = await fetch(`${new URL(url).origin}/app/echo`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ a: 1 }),
    })
    assert.equal(response.status, 200)
    assert.deepEqual(await response.json(), { got: { a: 1 } })
  })
})
