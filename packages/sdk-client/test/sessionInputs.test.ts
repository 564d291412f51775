// Session protocol (2025-11-25): a server asks the client for a sampling completion and for
// its roots in the middle of a tool call; MCPClient answers with the configured handlers.
// The server is the official SDK's, stateful, so its requests travel over the session's SSE.
import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { after, before, describe, it } from 'node:test'
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js'
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js'
import { MCPClient } from '@dauth/sdk-client'

describe('MCPClient answers server requests in the session protocol', () => {
  let http: Server
  let url: string
  const transports = new Map<string, StreamableHTTPServerTransport>()
  before(async () => {
    http = createServer((req, res) => {
      void (async () => {
        const id = req.headers['mcp-session-id']
        let transport = typeof id === 'string' ? transports.get(id) : undefined
        if (transport === undefined) {
          const created = new StreamableHTTPServerTransport({
            sessionIdGenerator: randomUUID,
            onsessioninitialized: (sessionId) => void transports.set(sessionId, created),
          })
          const server = new McpServer({ name: 'asks-back', version: '1.0.0' })
          server.registerTool('plan', { description: 'Asks the client.' }, async () => {
            const draft = await server.server.createMessage({
              messages: [{ role: 'user', content: { type: 'text', text: 'Plan a trip' } }],
              maxTokens: 50,
            })
            const { roots } = await server.server.listRoots()
            return {
              content: [{ type: 'text', text: JSON.stringify({ draft: draft.content, roots }) }],
            }
          })
          await server.connect(created)
          transport = created
        }
        await transport.handleRequest(req, res)
      })()
    })
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve))
    url = `http://127.0.0.1:${(http.address() as AddressInfo).port}/mcp`
  })
  after(async () => {
    for (const transport of transports.values()) await transport.close()
    http.closeAllConnections()
    await new Promise<void>((resolve) => http.close(() => resolve()))
  })

  it('sampling and roots handlers answer createMessage and roots/list', async () => {
    const client = await MCPClient.connect(url, {
      sampling: (request) => {
        assert.deepEqual(request.messages, [
          { role: 'user', content: { type: 'text', text: 'Plan a trip' } },
        ])
        return Promise.resolve({
          role: 'assistant',
          content: { type: 'text', text: 'Go north.' },
          model: 'test-model',
        })
      },
      roots: [{ uri: 'file:///home/me/project', name: 'project' }],
    })
    try {
      const result = await client.callTool('plan')
      assert.deepEqual(JSON.parse((result.content[0] as { text: string }).text), {
        draft: { type: 'text', text: 'Go north.' },
        roots: [{ uri: 'file:///home/me/project', name: 'project' }],
      })
    } finally {
      await client.close()
    }
  })

  it('without a sampling handler the request is refused: nothing reaches a model by default', async () => {
    const client = await MCPClient.connect(url)
    try {
      const result = await client.callTool('plan')
      assert.equal(result.isError, true)
      assert.equal(
        (result.content[0] as { text: string }).text,
        'MCP error -32601: Method not found',
      )
    } finally {
      await client.close()
    }
  })
})
