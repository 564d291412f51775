// Protocol revision 2026-07-28 (per-request `_meta` envelope, server/discover) through the
// official v2 client, with the same authorization layer as the 2025 era.
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client'
import { z } from 'zod'
import {
  acceptedContent,
  getContext,
  inputRequired,
  MCPServer,
  prompt,
  resource,
  tool,
} from '../src/index.ts'
import { type Fixture, startFixture } from './fixtures.ts'
import {
  createDpopProof,
  generateDpopKeyPair,
  mintToken,
  type StubAs,
  startStubAs,
} from './helpers.ts'

const MODERN = '2026-07-28'

function modernClient(
  url: string,
  headers: Record<string, string> = {},
): {
  client: Client
  transport: StreamableHTTPClientTransport
} {
  const client = new Client(
    { name: 'v2-client', version: '1.0.0' },
    {
      versionNegotiation: { mode: { pin: MODERN } },
      capabilities: { elicitation: { form: {} } },
    },
  )
  const transport = new StreamableHTTPClientTransport(new URL(url), {
    requestInit: { headers },
  })
  return { client, transport }
}

/** One raw 2026-07-28 request (what the SDK client sends), answered as JSON. */
async function rawModern(
  url: string,
  method: string,
  params: Record<string, unknown>,
  headers: Record<string, string>,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const name = typeof params.name === 'string' ? { 'mcp-name': params.name } : {}
  const response = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      'mcp-protocol-version': MODERN,
      'mcp-method': method,
      ...name,
      ...headers,
    },
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: 7,
      method,
      params: {
        ...params,
        _meta: {
          'io.modelcontextprotocol/protocolVersion': MODERN,
          'io.modelcontextprotocol/clientInfo': { name: 'raw', version: '1' },
          'io.modelcontextprotocol/clientCapabilities': { elicitation: { form: {} } },
        },
      },
    }),
  })
  return { status: response.status, body: (await response.json()) as Record<string, unknown> }
}

describe('2026-07-28 through the official v2 client', () => {
  let f: Fixture
  before(async () => {
    f = await startFixture({ dpopRequired: false })
  })
  after(() => f.close())

  test('server/discover, filtered tools/list, tools/call, per-tool scope refusal', async () => {
    const token = await mintToken(f.as, f.url, { claims: { scope: 'read' } })
    const { client, transport } = modernClient(f.url, { authorization: `Bearer ${token}` })
    await client.connect(transport)
    try {
      assert.equal(client.getProtocolEra(), 'modern')
      const tools = await client.listTools()
      assert.deepEqual(
        tools.tools.map((t) => t.name),
        ['echo', 'public_info', 'context'],
      )
      const echoed = await client.callTool({ name: 'echo', arguments: { text: 'modern' } })
      assert.deepEqual(echoed.content, [{ type: 'text', text: 'modern' }])
      // Hidden from the list, refused with the documented text before its arguments are checked.
      const refused = await client.callTool({ name: 'delete_file', arguments: {} })
      assert.equal(refused.isError, true)
      assert.deepEqual(refused.content, [
        {
          type: 'text',
          text: `Tool "delete_file" requires scopes: ['files:delete']. Missing: ['files:delete']`,
        },
      ])
    } finally {
      await client.close()
    }
  })

  test('tools see the token at ctx.http.authInfo and getContext().auth', async () => {
    const token = await mintToken(f.as, f.url, { claims: { scope: 'read', sub: 'alice' } })
    const { client, transport } = modernClient(f.url, { authorization: `Bearer ${token}` })
    await client.connect(transport)
    try {
      const result = await client.callTool({ name: 'context', arguments: {} })
      const [content] = result.content as [{ type: 'text'; text: string }]
      const seen = JSON.parse(content.text) as {
        auth: { subject: string; scopes: string[] }
        authInfo: { token: string; scopes: string[] }
      }
      assert.equal(seen.auth.subject, 'alice')
      assert.deepEqual(seen.auth.scopes, ['read'])
      assert.equal(seen.authInfo.token, token)
      assert.deepEqual(seen.authInfo.scopes, ['read'])
    } finally {
      await client.close()
    }
  })

  test('without a token the modern request gets the same 401 challenge', async () => {
    const answer = await rawModern(f.url, 'tools/list', {}, {})
    assert.equal(answer.status, 401)
    assert.equal(answer.body.error, 'unauthorized')
  })

  test("'http-403' answers a modern call without the tool's scopes with 403 insufficient_scope", async () => {
    const g = await startFixture({ dpopRequired: false, insufficientScopeResponse: 'http-403' })
    try {
      const token = await mintToken(g.as, g.url, { claims: { scope: 'read' } })
      const response = await fetch(g.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
          'mcp-protocol-version': MODERN,
          'mcp-method': 'tools/call',
          'mcp-name': 'delete_file',
          authorization: `Bearer ${token}`,
        },
        body: JSON.stringify({
          jsonrpc: '2.0',
          id: 1,
          method: 'tools/call',
          params: {
            name: 'delete_file',
            arguments: { path: '/x' },
            _meta: { 'io.modelcontextprotocol/protocolVersion': MODERN },
          },
        }),
      })
      assert.equal(response.status, 403)
      assert.equal(
        response.headers.get('www-authenticate'),
        `Bearer error="insufficient_scope", error_description="Insufficient scope", scope="files:delete", resource_metadata="${g.metadataUrl}"`,
      )
      assert.deepEqual(await response.json(), {
        error: 'insufficient_scope',
        error_description: 'Insufficient scope',
      })
    } finally {
      await g.close()
    }
  })
})

describe('2026-07-28 with DPoP-bound tokens', () => {
  test('the v2 client sends one fresh proof per request and reaches the tool', async () => {
    const g = await startFixture({ dpopRequired: true })
    try {
      const dpop = await generateDpopKeyPair()
      const token = await mintToken(g.as, g.url, {
        claims: { scope: 'read', cnf: { jkt: dpop.jkt } },
      })
      const seenProofs = new Set<string>()
      const client = new Client(
        { name: 'v2-client', version: '1.0.0' },
        { versionNegotiation: { mode: { pin: MODERN } } },
      )
      const transport = new StreamableHTTPClientTransport(new URL(g.url), {
        fetch: async (input, init) => {
          const headers = new Headers(init?.headers)
          const method = init?.method ?? 'GET'
          const proof = await createDpopProof(dpop, { htm: method, htu: g.url, accessToken: token })
          seenProofs.add(proof)
          headers.set('authorization', `DPoP ${token}`)
          headers.set('dpop', proof)
          return fetch(input, { ...init, headers })
        },
      })
      await client.connect(transport)
      try {
        assert.equal(client.getProtocolEra(), 'modern')
        const result = await client.callTool({ name: 'echo', arguments: { text: 'bound' } })
        assert.deepEqual(result.content, [{ type: 'text', text: 'bound' }])
        assert.ok(seenProofs.size >= 2)
      } finally {
        await client.close()
      }
      // The same token as Bearer is refused on a modern request too.
      const asBearer = await rawModern(
        g.url,
        'tools/list',
        {},
        { authorization: `Bearer ${token}` },
      )
      assert.equal(asBearer.status, 401)
      assert.equal(asBearer.body.error, 'invalid_token')
    } finally {
      await g.close()
    }
  })
})

describe('multi-round-trip input (inputRequired) and requestState', () => {
  let as: StubAs
  let server: MCPServer
  let url: string
  let stop: () => Promise<void>
  before(async () => {
    as = await startStubAs()
    server = new MCPServer('mrtr', {
      authorization: { authorizationServers: [as.issuer], dpopRequired: false },
      sessions: { enabled: true },
    })
    server.collect(
      tool({ name: 'greet', description: 'Asks for a name, then greets' }, async () => {
        const context = getContext()
        const name = acceptedContent(context.inputResponses, 'name', z.object({ name: z.string() }))
        const state = context.requestState<{ asked: number }>()
        if (name && state) return `hello ${name.name} after ${state.asked} question`
        return inputRequired({
          inputRequests: {
            name: inputRequired.elicit({
              message: 'Your name?',
              requestedSchema: {
                type: 'object',
                properties: { name: { type: 'string' } },
                required: ['name'],
              },
            }),
          },
          requestState: await context.mintRequestState({ asked: 1 }),
        })
      }),
      prompt({ name: 'topic', description: 'Asks for a topic' }, () => {
        const topic = acceptedContent<{ topic: string }>(getContext().inputResponses, 'topic')
        if (topic) {
          return { messages: [{ role: 'user', content: { type: 'text', text: topic.topic } }] }
        }
        return inputRequired({
          inputRequests: {
            topic: inputRequired.elicit({
              message: 'Topic?',
              requestedSchema: {
                type: 'object',
                properties: { topic: { type: 'string' } },
                required: ['topic'],
              },
            }),
          },
        })
      }),
      resource({ name: 'readme', uri: 'test://readme' }, (uri) => ({
        contents: [{ uri: uri.href, text: `caller ${getContext().auth?.subject ?? '-'}` }],
      })),
    )
    const running = await server.serve()
    url = running.url
    stop = async () => {
      await running.close()
      await as.close()
    }
  })
  after(() => stop())

  test('the client fulfils the elicitation and retries with the sealed requestState', async () => {
    const token = await mintToken(as, url, { claims: { scope: 'read' } })
    for (const mode of ['modern', 'legacy'] as const) {
      const client = new Client(
        { name: 'v2-client', version: '1.0.0' },
        {
          ...(mode === 'modern' ? { versionNegotiation: { mode: { pin: MODERN } } } : {}),
          capabilities: { elicitation: { form: {} } },
        },
      )
      client.setRequestHandler('elicitation/create', (request) => ({
        action: 'accept',
        content: request.params.message === 'Topic?' ? { topic: 'Ada' } : { name: 'Ada' },
      }))
      await client.connect(
        new StreamableHTTPClientTransport(new URL(url), {
          requestInit: { headers: { authorization: `Bearer ${token}` } },
        }),
      )
      try {
        // 2025: the SDK's legacy shim turns inputRequired into a real elicitation/create.
        assert.equal(client.getProtocolEra(), mode)
        const result = await client.callTool({ name: 'greet', arguments: {} })
        assert.deepEqual(result.content, [{ type: 'text', text: 'hello Ada after 1 question' }])
        const rendered = await client.getPrompt({ name: 'topic' })
        assert.deepEqual(rendered.messages, [
          { role: 'user', content: { type: 'text', text: 'Ada' } },
        ])
        const read = await client.readResource({ uri: 'test://readme' })
        assert.deepEqual(read.contents, [{ uri: 'test://readme', text: 'caller user-1' }])
      } finally {
        await client.close()
      }
    }
  })

  test('a requestState is refused for another caller and when tampered with (-32602)', async () => {
    const alice = await mintToken(as, url, { claims: { scope: 'read', sub: 'alice' } })
    const bob = await mintToken(as, url, { claims: { scope: 'read', sub: 'bob' } })
    const first = await rawModern(
      url,
      'tools/call',
      { name: 'greet', arguments: {} },
      {
        authorization: `Bearer ${alice}`,
      },
    )
    assert.equal(first.status, 200)
    const result = first.body.result as { resultType: string; requestState: string }
    assert.equal(result.resultType, 'input_required')
    const retry = (requestState: string, token: string) =>
      rawModern(
        url,
        'tools/call',
        {
          name: 'greet',
          arguments: {},
          inputResponses: { name: { action: 'accept', content: { name: 'Eve' } } },
          requestState,
        },
        { authorization: `Bearer ${token}` },
      )
    const asAlice = await retry(result.requestState, alice)
    assert.deepEqual((asAlice.body.result as { content: unknown }).content, [
      { type: 'text', text: 'hello Eve after 1 question' },
    ])
    for (const [state, token] of [
      [result.requestState, bob],
      [`${result.requestState.slice(0, -2)}AA`, alice],
    ] as const) {
      const refused = await retry(state, token)
      const error = refused.body.error as { code: number; message: string }
      assert.equal(error.code, -32602)
      assert.equal(error.message, 'Invalid or expired requestState')
    }
  })
})

describe('subscriptions/listen (2026-07-28 change notifications)', () => {
  test('notifyToolListChanged reaches a modern client that listens', async () => {
    const server = new MCPServer('listen', { authorization: { enabled: false } })
    server.collect(tool({ name: 'noop', description: 'noop' }, () => 'ok'))
    const running = await server.serve()
    let resolveChanged: () => void = () => undefined
    const changed = new Promise<void>((resolve) => {
      resolveChanged = resolve
    })
    const client = new Client(
      { name: 'v2-client', version: '1.0.0' },
      {
        versionNegotiation: { mode: { pin: MODERN } },
        listChanged: { tools: { autoRefresh: false, onChanged: () => resolveChanged() } },
      },
    )
    await client.connect(new StreamableHTTPClientTransport(new URL(running.url)))
    try {
      const subscription = await client.listen({ toolsListChanged: true })
      server.notifyToolListChanged()
      await changed
      await subscription.close()
    } finally {
      await client.close()
      await running.close()
    }
  })
})
