// Opt-in stateful sessions: bound to the caller, and server → client requests (elicitation) work.
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import { ElicitRequestSchema } from '@modelcontextprotocol/sdk/types.js'
import { MCPServer, tool } from '../src/index.ts'
import { testTools } from './fixtures.ts'
import { callMcp, mintToken, rpc, type StubAs, startStubAs, toolCall } from './helpers.ts'

describe('sessions', () => {
  let as: StubAs
  let server: MCPServer
  let url: string
  let stop: () => Promise<void>
  before(async () => {
    as = await startStubAs()
    server = new MCPServer('sessions', {
      authorization: { authorizationServers: [as.issuer], dpopRequired: false },
      sessions: { enabled: true },
    })
    server.collect(
      ...testTools(),
      tool(
        { name: 'ask_name', description: 'Elicit a name', requiredScopes: ['read'] },
        async (_args, extra) => {
          const answer = await extra.mcpReq.send({
            method: 'elicitation/create',
            params: {
              message: 'Your name?',
              requestedSchema: {
                type: 'object',
                properties: { name: { type: 'string' } },
                required: ['name'],
              },
            },
          })
          return `hello ${String(answer.content?.name)}`
        },
      ),
    )
    const running = await server.serve()
    url = running.url
    stop = () => running.close()
  })
  after(async () => {
    await stop()
    await as.close()
  })

  function client(token: string) {
    const c = new Client({ name: 'c', version: '1' }, { capabilities: { elicitation: {} } })
    c.setRequestHandler(ElicitRequestSchema, () => ({ action: 'accept', content: { name: 'Ada' } }))
    const transport = new StreamableHTTPClientTransport(new URL(url), {
      requestInit: { headers: { authorization: `Bearer ${token}` } },
    })
    return { c, transport }
  }

  test('elicitation round trip inside a tool call (official SDK client)', async () => {
    const { c, transport } = client(await mintToken(as, url, { claims: { scope: 'read' } }))
    await c.connect(transport)
    try {
      assert.ok(transport.sessionId)
      const result = await c.callTool({ name: 'ask_name', arguments: {} })
      assert.deepEqual(result, { content: [{ type: 'text', text: 'hello Ada' }] })
      const tools = await c.listTools()
      assert.deepEqual(
        tools.tools.map((t) => t.name),
        ['echo', 'public_info', 'context', 'ask_name'],
      )
      assert.equal(server.sessionCount, 1)
    } finally {
      await transport.terminateSession()
      await c.close()
    }
    assert.equal(server.sessionCount, 0)
  })

  test('another caller presenting the session id gets 404, like an unknown id', async () => {
    const { c, transport } = client(
      await mintToken(as, url, { claims: { scope: 'read', sub: 'alice' } }),
    )
    await c.connect(transport)
    try {
      const mallory = await mintToken(as, url, {
        claims: { scope: 'read files:delete', sub: 'mallory' },
      })
      const stolen = await callMcp(url, {
        token: mallory,
        headers: { 'mcp-session-id': transport.sessionId! },
        body: toolCall('echo', { text: 'x' }),
      })
      assert.equal(stolen.status, 404)
      assert.deepEqual(stolen.json, {
        jsonrpc: '2.0',
        error: { code: -32001, message: 'Session not found' },
        id: null,
      })
      const unknown = await callMcp(url, {
        token: mallory,
        headers: { 'mcp-session-id': 'no-such-session' },
        body: toolCall('echo', { text: 'x' }),
      })
      assert.deepEqual(unknown.json, stolen.json)
    } finally {
      await transport.terminateSession()
      await c.close()
    }
  })

  test('a request without session id that is not initialize: 400', async () => {
    const token = await mintToken(as, url)
    const r = await callMcp(url, { token, body: rpc('tools/list') })
    assert.equal(r.status, 400)
  })

  test('per-tool scopes still apply inside a session', async () => {
    const { c, transport } = client(await mintToken(as, url, { claims: { scope: 'read' } }))
    await c.connect(transport)
    try {
      const refused = await c.callTool({ name: 'delete_file', arguments: { path: '/x' } })
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
      await transport.terminateSession()
      await c.close()
    }
  })
})
