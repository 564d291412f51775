// The official @modelcontextprotocol/sdk client calls a protected tool with a Bearer token.
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import { startFixture, type Fixture } from './fixtures.ts'
import { mintToken } from './helpers.ts'

describe('official SDK client', () => {
  let f: Fixture
  before(async () => {
    f = await startFixture({ dpopRequired: false })
  })
  after(() => f.close())

  test('initialize, tools/list and tools/call with a Bearer token', async () => {
    const token = await mintToken(f.as, f.url, { claims: { scope: 'read' } })
    const client = new Client({ name: 'sdk-test', version: '1.0.0' })
    const transport = new StreamableHTTPClientTransport(new URL(f.url), {
      requestInit: { headers: { authorization: `Bearer ${token}` } },
    })
    await client.connect(transport)
    try {
      assert.equal(client.getServerVersion()?.name, 'test-server')
      const tools = await client.listTools()
      assert.deepEqual(
        tools.tools.map((t) => t.name),
        ['echo', 'public_info', 'context'],
      )
      assert.deepEqual(tools.tools[0]?.inputSchema.properties, { text: { type: 'string' } })
      const result = await client.callTool({ name: 'echo', arguments: { text: 'from the SDK' } })
      assert.deepEqual(result, { content: [{ type: 'text', text: 'from the SDK' }] })
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

  test('without a token the SDK client sees the 401', async () => {
    const client = new Client({ name: 'sdk-test', version: '1.0.0' })
    const transport = new StreamableHTTPClientTransport(new URL(f.url))
    await assert.rejects(client.connect(transport), (error: Error) =>
      /401|Unauthorized/i.test(String(error)),
    )
  })
})
