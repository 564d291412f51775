import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { MCPClient, McpRequestError } from '@dauth/sdk-client'
import { header, json, startStub, type RecordedRequest, type StubServer } from './helpers/http.ts'

const VERSION = '2026-07-28'

interface Rpc {
  id: number
  method: string
  params: Record<string, unknown> & { _meta?: Record<string, unknown> }
}

const TOOLS = [
  {
    name: 'weather',
    inputSchema: {
      type: 'object',
      properties: {
        region: { type: 'string', 'x-mcp-header': 'Region' },
        days: { type: 'integer', 'x-mcp-header': 'Days' },
        note: { type: 'string' },
      },
    },
  },
  {
    name: 'bad',
    inputSchema: { type: 'object', properties: { v: { type: 'object', 'x-mcp-header': 'V' } } },
  },
  { name: 'confirm', inputSchema: { type: 'object', properties: {} } },
  { name: 'plan', inputSchema: { type: 'object', properties: {} } },
  { name: 'weird', inputSchema: { type: 'object', properties: {} } },
]

/** A stateless (SEP-2575) server: rejects the first request's version, then answers. */
async function startStatelessServer(): Promise<StubServer> {
  let rejected = false
  return startStub((_req, res, rec) => {
    const rpc = JSON.parse(rec.body) as Rpc
    const reply = (result: Record<string, unknown>): void =>
      json(res, 200, { jsonrpc: '2.0', id: rpc.id, result })
    if (!rejected) {
      rejected = true
      return json(res, 400, {
        jsonrpc: '2.0',
        id: rpc.id,
        error: {
          code: -32022,
          message: 'Unsupported protocol version',
          data: { supported: [VERSION], requested: 'x' },
        },
      })
    }
    switch (rpc.method) {
      case 'server/discover':
        return reply({ supportedVersions: [VERSION], capabilities: { tools: {} } })
      case 'tools/list':
        return reply({ tools: TOOLS })
      case 'tools/call':
        if (rpc.params.name === 'confirm' && rpc.params.inputResponses === undefined) {
          return reply({
            resultType: 'input_required',
            inputRequests: {
              ask: {
                method: 'elicitation/create',
                params: {
                  message: 'Sure?',
                  requestedSchema: {
                    type: 'object',
                    properties: {
                      sure: { type: 'boolean', default: true },
                      who: { type: 'string' },
                    },
                  },
                },
              },
            },
            requestState: 'opaque-state-1',
          })
        }
        if (rpc.params.name === 'plan' && rpc.params.inputResponses === undefined) {
          return reply({
            resultType: 'input_required',
            inputRequests: {
              draft: {
                method: 'sampling/createMessage',
                params: {
                  messages: [{ role: 'user', content: { type: 'text', text: 'Plan a trip' } }],
                  maxTokens: 50,
                },
              },
              where: { method: 'roots/list', params: {} },
            },
          })
        }
        if (rpc.params.name === 'weird' && rpc.params.inputResponses === undefined) {
          return reply({
            resultType: 'input_required',
            inputRequests: { x: { method: 'toString', params: {} } },
          })
        }
        return reply({ content: [{ type: 'text', text: JSON.stringify(rpc.params) }] })
      default:
        return json(res, 200, {
          jsonrpc: '2.0',
          id: rpc.id,
          error: { code: -32601, message: 'nope' },
        })
    }
  })
}

const rpcOf = (rec: RecordedRequest): Rpc => JSON.parse(rec.body) as Rpc

describe('MCPClient with protocolVersion 2026-07-28 (stateless)', () => {
  let server: StubServer
  let client: MCPClient
  before(async () => {
    server = await startStatelessServer()
    client = await MCPClient.connect(`${server.url}/mcp`, {
      protocolVersion: VERSION,
      clientInfo: { name: 'test-app', version: '1.2.3' },
      elicitation: () => Promise.resolve({ action: 'accept', content: { who: 'me' } }),
    })
  })
  after(async () => {
    await client.close()
    await server.close()
  })

  it('sends server/discover with _meta and the version header, retrying once after -32022', () => {
    assert.deepEqual(
      server.requests.map((r) => [r.method, r.path, rpcOf(r).method]),
      [
        ['POST', '/mcp', 'server/discover'],
        ['POST', '/mcp', 'server/discover'],
      ],
    )
    const retry = server.requests[1]!
    assert.equal(header(retry, 'mcp-protocol-version'), VERSION)
    assert.equal(header(retry, 'mcp-method'), 'server/discover')
    assert.equal(header(retry, 'mcp-name'), undefined)
    assert.deepEqual(rpcOf(retry).params._meta, {
      'io.modelcontextprotocol/protocolVersion': VERSION,
      'io.modelcontextprotocol/clientCapabilities': { elicitation: { form: {} } },
      'io.modelcontextprotocol/clientInfo': { name: 'test-app', version: '1.2.3' },
    })
    assert.notEqual(rpcOf(retry).id, rpcOf(server.requests[0]!).id)
    assert.equal(client.protocolVersion, VERSION)
    assert.equal(client.sdkClient, undefined)
  })

  it('leaves out tools with invalid x-mcp-header annotations', async () => {
    assert.deepEqual(
      (await client.listTools()).map((t) => t.name),
      ['weather', 'confirm', 'plan', 'weird'],
    )
  })

  it('mirrors annotated arguments into Mcp-Param headers and names the tool in Mcp-Name', async () => {
    server.requests.length = 0
    await client.callTool('weather', { region: ' north', days: 3, note: 'x' })
    const [call] = server.requests
    assert.equal(header(call!, 'mcp-method'), 'tools/call')
    assert.equal(header(call!, 'mcp-name'), 'weather')
    assert.equal(header(call!, 'mcp-param-region'), '=?base64?IG5vcnRo?=')
    assert.equal(header(call!, 'mcp-param-days'), '3')
    assert.equal(header(call!, 'mcp-param-note'), undefined)
  })

  it('refuses to call a tool the server does not list validly', async () => {
    await assert.rejects(client.callTool('bad', { v: {} }), { code: 'ERR_CONFIGURATION' })
  })

  it('answers input_required with the elicitation handler (defaults filled) and echoes requestState', async () => {
    server.requests.length = 0
    const result = await client.callTool('confirm')
    assert.equal(server.requests.length, 2)
    const [first, retry] = server.requests.map(rpcOf)
    assert.notEqual(retry!.id, first!.id)
    assert.equal(first!.params.requestState, undefined)
    assert.deepEqual(
      { ...retry!.params, _meta: undefined },
      {
        name: 'confirm',
        arguments: {},
        inputResponses: { ask: { action: 'accept', content: { who: 'me', sure: true } } },
        requestState: 'opaque-state-1',
        _meta: undefined,
      },
    )
    assert.equal((result.content[0] as { text: string }).text, JSON.stringify({ ...retry!.params }))
  })

  it('refuses an input request it has no handler for (sampling is never answered by default)', async () => {
    await assert.rejects(client.callTool('plan'), {
      code: 'ERR_CONFIGURATION',
      message: "No handler for the server's sampling/createMessage input request",
    })
  })

  it('an input method named like an Object.prototype member finds no handler', async () => {
    await assert.rejects(client.callTool('weird'), {
      code: 'ERR_CONFIGURATION',
      message: "No handler for the server's toString input request",
    })
  })

  it('answers sampling and roots input requests with the configured handlers, declaring both capabilities', async () => {
    const seen: unknown[] = []
    const other = await MCPClient.connect(`${server.url}/mcp`, {
      protocolVersion: VERSION,
      sampling: (request) => {
        seen.push(request)
        return Promise.resolve({
          role: 'assistant',
          content: { type: 'text', text: 'Go north.' },
          model: 'test-model',
        })
      },
      roots: () => Promise.resolve([{ uri: 'file:///home/me/project', name: 'project' }]),
    })
    try {
      server.requests.length = 0
      await other.callTool('plan')
      const [first, retry] = server.requests.map(rpcOf).filter((r) => r.method === 'tools/call')
      assert.deepEqual(first!.params._meta?.['io.modelcontextprotocol/clientCapabilities'], {
        sampling: {},
        roots: { listChanged: false },
      })
      assert.deepEqual(seen, [
        {
          messages: [{ role: 'user', content: { type: 'text', text: 'Plan a trip' } }],
          maxTokens: 50,
        },
      ])
      assert.deepEqual(retry!.params.inputResponses, {
        draft: {
          role: 'assistant',
          content: { type: 'text', text: 'Go north.' },
          model: 'test-model',
        },
        where: { roots: [{ uri: 'file:///home/me/project', name: 'project' }] },
      })
    } finally {
      await other.close()
    }
  })

  it('turns JSON-RPC errors into McpRequestError with the code', async () => {
    await assert.rejects(client.listPrompts(), (error: unknown) => {
      assert.ok(error instanceof McpRequestError)
      assert.equal(error.code, 'ERR_MCP_REQUEST')
      assert.equal(error.rpcCode, -32601)
      assert.equal(error.method, 'prompts/list')
      return true
    })
  })
})
