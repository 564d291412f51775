// First-class MCP capabilities of MCPServer: resources, templates, prompts, completions,
// logging, progress, sampling, elicitation, subscriptions, raw JSON Schema tools, resumability.
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import {
  CreateMessageRequestSchema,
  ElicitRequestSchema,
  type LoggingMessageNotification,
  ResourceUpdatedNotificationSchema,
} from '@modelcontextprotocol/sdk/types.js'
import { z } from 'zod'
import {
  getContext,
  MCPServer,
  MCPServerError,
  prompt,
  type RunningServer,
  resource,
  resourceTemplate,
  tool,
} from '../src/index.ts'

function buildServer(): MCPServer {
  return new MCPServer('capabilities', {
    authorization: { enabled: false },
    sessions: { enabled: true, resumability: true },
    logging: true,
    resourceSubscriptions: true,
  }).collect(
    resource({ name: 'readme', uri: 'test://readme', mimeType: 'text/plain' }, (uri) => ({
      contents: [{ uri: uri.href, mimeType: 'text/plain', text: 'hello' }],
    })),
    resourceTemplate(
      {
        name: 'user',
        uriTemplate: 'users://{id}/profile',
        complete: { id: (value) => ['alice', 'bob'].filter((id) => id.startsWith(value)) },
      },
      (uri, { id }) => ({ contents: [{ uri: uri.href, text: `user ${String(id)}` }] }),
    ),
    prompt(
      {
        name: 'greet',
        description: 'Greets',
        argsSchema: { who: z.string() },
        complete: { who: (value) => ['world', 'wally'].filter((w) => w.startsWith(value)) },
      },
      ({ who }) => ({
        messages: [{ role: 'user', content: { type: 'text', text: `Hello ${who}` } }],
      }),
    ),
    tool({ name: 'chatty', description: 'Logs and reports progress' }, async () => {
      const context = getContext()
      await context.log('debug', 'dropped below the level')
      await context.log('warning', { step: 1 }, 'chatty')
      await context.progress(1, 2, 'half')
      await context.progress(2, 2)
      return 'done'
    }),
    tool({ name: 'ask', description: 'Samples and elicits' }, async () => {
      const context = getContext()
      const sampled = await context.sample({
        messages: [{ role: 'user', content: { type: 'text', text: 'Q?' } }],
        maxTokens: 10,
      })
      const elicited = await context.elicit({
        message: 'Name?',
        requestedSchema: { type: 'object', properties: { name: { type: 'string' } } },
      })
      return `${!Array.isArray(sampled.content) && sampled.content.type === 'text' ? sampled.content.text : ''}/${elicited.action}/${JSON.stringify(elicited.content)}`
    }),
    tool(
      {
        name: 'strict',
        description: 'Raw JSON Schema',
        inputJsonSchema: {
          $schema: 'https://json-schema.org/draft/2020-12/schema',
          type: 'object',
          $defs: { n: { type: 'integer', minimum: 1 } },
          properties: { count: { $ref: '#/$defs/n' } },
          required: ['count'],
          additionalProperties: false,
        },
      },
      (args) => JSON.stringify(args),
    ),
  )
}

async function connect(
  url: string,
  capabilities: ConstructorParameters<typeof Client>[1] = {},
): Promise<Client> {
  const client = new Client({ name: 'capabilities-test', version: '1.0.0' }, capabilities)
  await client.connect(new StreamableHTTPClientTransport(new URL(url)))
  return client
}

describe('MCPServer capabilities', () => {
  let server: MCPServer
  let running: RunningServer
  before(async () => {
    server = buildServer()
    running = await server.serve()
  })
  after(() => running.close())

  test('initialize advertises logging, subscriptions and completions', async () => {
    const client = await connect(running.url)
    try {
      const capabilities = client.getServerCapabilities()
      assert.deepEqual(capabilities?.logging, {})
      assert.equal(capabilities?.resources?.subscribe, true)
      assert.deepEqual(capabilities?.completions, {})
    } finally {
      await client.close()
    }
  })

  test('resources, templates and reads', async () => {
    const client = await connect(running.url)
    try {
      const { resources } = await client.listResources()
      assert.deepEqual(resources, [
        { name: 'readme', uri: 'test://readme', mimeType: 'text/plain' },
      ])
      const { resourceTemplates } = await client.listResourceTemplates()
      assert.deepEqual(resourceTemplates, [{ name: 'user', uriTemplate: 'users://{id}/profile' }])
      assert.deepEqual(await client.readResource({ uri: 'test://readme' }), {
        contents: [{ uri: 'test://readme', mimeType: 'text/plain', text: 'hello' }],
      })
      assert.deepEqual(await client.readResource({ uri: 'users://alice/profile' }), {
        contents: [{ uri: 'users://alice/profile', text: 'user alice' }],
      })
    } finally {
      await client.close()
    }
  })

  test('prompts and completions of prompt arguments and template variables', async () => {
    const client = await connect(running.url)
    try {
      const { prompts } = await client.listPrompts()
      assert.deepEqual(prompts, [
        {
          name: 'greet',
          description: 'Greets',
          arguments: [{ name: 'who', required: true }],
        },
      ])
      assert.deepEqual(await client.getPrompt({ name: 'greet', arguments: { who: 'you' } }), {
        messages: [{ role: 'user', content: { type: 'text', text: 'Hello you' } }],
      })
      const prompted = await client.complete({
        ref: { type: 'ref/prompt', name: 'greet' },
        argument: { name: 'who', value: 'wa' },
      })
      assert.deepEqual(prompted.completion.values, ['wally'])
      const templated = await client.complete({
        ref: { type: 'ref/resource', uri: 'users://{id}/profile' },
        argument: { name: 'id', value: 'b' },
      })
      assert.deepEqual(templated.completion.values, ['bob'])
    } finally {
      await client.close()
    }
  })

  test('log() honours logging/setLevel and progress() reports to the progress token', async () => {
    const client = await connect(running.url)
    const logs: LoggingMessageNotification['params'][] = []
    client.fallbackNotificationHandler = (notification) => {
      if (notification.method === 'notifications/message')
        logs.push(notification.params as LoggingMessageNotification['params'])
      return Promise.resolve()
    }
    try {
      await client.setLoggingLevel('info')
      const progress: unknown[] = []
      const result = await client.callTool({ name: 'chatty' }, undefined, {
        onprogress: (p) => progress.push(p),
      })
      assert.deepEqual(result, { content: [{ type: 'text', text: 'done' }] })
      assert.deepEqual(logs, [{ level: 'warning', data: { step: 1 }, logger: 'chatty' }])
      assert.deepEqual(progress, [
        { progress: 1, total: 2, message: 'half' },
        { progress: 2, total: 2 },
      ])
    } finally {
      await client.close()
    }
  })

  test('sample() and elicit() reach the client', async () => {
    const client = await connect(running.url, { capabilities: { sampling: {}, elicitation: {} } })
    client.setRequestHandler(CreateMessageRequestSchema, () => ({
      role: 'assistant',
      content: { type: 'text', text: 'A!' },
      model: 'test-model',
    }))
    client.setRequestHandler(ElicitRequestSchema, () => ({
      action: 'accept',
      content: { name: 'Ada' },
    }))
    try {
      const result = await client.callTool({ name: 'ask' })
      assert.deepEqual(result, { content: [{ type: 'text', text: 'A!/accept/{"name":"Ada"}' }] })
    } finally {
      await client.close()
    }
  })

  test('sample() fails as a tool error when the client lacks the capability', async () => {
    const client = await connect(running.url)
    try {
      const result = await client.callTool({ name: 'ask' })
      assert.equal(result.isError, true)
    } finally {
      await client.close()
    }
  })

  test('resources/subscribe: notifyResourceUpdated reaches subscribers only until unsubscribe', async () => {
    const subscriber = await connect(running.url)
    const other = await connect(running.url)
    const seen: string[] = []
    const otherSeen: string[] = []
    subscriber.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => {
      seen.push(n.params.uri)
    })
    other.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => {
      otherSeen.push(n.params.uri)
    })
    try {
      await subscriber.subscribeResource({ uri: 'test://readme' })
      await server.notifyResourceUpdated('test://readme')
      await server.notifyResourceUpdated('test://other')
      // a round trip on the same session: the notification (standalone stream) has arrived
      for (let i = 0; i < 50 && seen.length === 0; i++) await subscriber.ping()
      assert.deepEqual(seen, ['test://readme'])
      await subscriber.unsubscribeResource({ uri: 'test://readme' })
      await server.notifyResourceUpdated('test://readme')
      await subscriber.ping()
      await other.ping()
      assert.deepEqual(seen, ['test://readme'])
      assert.deepEqual(otherSeen, [])
    } finally {
      await subscriber.close()
      await other.close()
    }
  })

  test('inputJsonSchema is listed verbatim and validated', async () => {
    const client = await connect(running.url)
    try {
      const { tools } = await client.listTools()
      const strict = tools.find((t) => t.name === 'strict')
      assert.deepEqual(strict?.inputSchema, {
        $schema: 'https://json-schema.org/draft/2020-12/schema',
        type: 'object',
        $defs: { n: { type: 'integer', minimum: 1 } },
        properties: { count: { $ref: '#/$defs/n' } },
        required: ['count'],
        additionalProperties: false,
      })
      assert.deepEqual(await client.callTool({ name: 'strict', arguments: { count: 2 } }), {
        content: [{ type: 'text', text: '{"count":2}' }],
      })
      const refused = await client.callTool({ name: 'strict', arguments: { count: 0 } })
      assert.deepEqual(refused, {
        content: [
          {
            type: 'text',
            text: 'Input validation error: Invalid arguments for tool strict: data/count must be >= 1',
          },
        ],
        isError: true,
      })
    } finally {
      await client.close()
    }
  })

  test('resumability: POST streams open with a priming event carrying id and retry', async () => {
    const client = await connect(running.url)
    const sessionId = (client.transport as StreamableHTTPClientTransport).sessionId ?? ''
    try {
      const response = await fetch(running.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
          'mcp-session-id': sessionId,
          'mcp-protocol-version': '2025-11-25',
        },
        body: JSON.stringify({ jsonrpc: '2.0', id: 7, method: 'ping' }),
      })
      assert.equal(response.status, 200)
      const text = await response.text()
      const priming = /^id: ([^\n]+_\d+)\nretry: 1000\ndata: \n\n/.exec(text)
      assert.ok(priming?.[1], text)
      assert.match(text, /"id":7/)
      // Reconnecting after the priming event replays the rest of that stream.
      const replay = await fetch(running.url, {
        headers: {
          accept: 'text/event-stream',
          'mcp-session-id': sessionId,
          'mcp-protocol-version': '2025-11-25',
          'last-event-id': priming[1],
        },
      })
      assert.equal(replay.status, 200)
      const reader = replay.body?.getReader()
      let replayed = ''
      while (reader && !replayed.includes('"id":7')) {
        const { done, value } = await reader.read()
        if (done) break
        replayed += new TextDecoder().decode(value)
      }
      await reader?.cancel()
      assert.match(replayed, /data: \{"result":\{\},"jsonrpc":"2.0","id":7\}/)
    } finally {
      await client.close()
    }
  })

  test('definition errors', () => {
    assert.throws(
      () =>
        tool(
          {
            name: 'both',
            description: 'x',
            inputSchema: { a: z.string() },
            inputJsonSchema: { type: 'object' },
          },
          () => 'x',
        ),
      (error: unknown) => error instanceof MCPServerError && error.code === 'ERR_CONFIG',
    )
    assert.throws(
      () => resource({ name: 'bad', uri: 'not a uri' }, () => ({ contents: [] })),
      (error: unknown) => error instanceof MCPServerError && error.code === 'ERR_CONFIG',
    )
    const server = new MCPServer('dup', { authorization: { enabled: false } })
    const definition = prompt({ name: 'p' }, () => ({ messages: [] }))
    server.collect(definition)
    assert.throws(
      () => server.collect(definition),
      (error: unknown) => error instanceof MCPServerError && error.code === 'ERR_CONFIG',
    )
    assert.throws(
      () => getContext(),
      (error: unknown) => error instanceof MCPServerError && error.code === 'ERR_NO_CONTEXT',
    )
  })
})
