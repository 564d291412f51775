// The fixture server answers the suite's discovery requests; Host checks stay on.
import assert from 'node:assert/strict'
import { request } from 'node:http'
import { after, before, describe, test } from 'node:test'
import { startConformanceServer } from '../src/index.ts'

const HEADERS = {
  'content-type': 'application/json',
  accept: 'application/json, text/event-stream',
  'mcp-protocol-version': '2025-11-25',
}

function sseData(text: string): unknown[] {
  return text
    .split('\n')
    .filter((line) => line.startsWith('data: ') && line.length > 6)
    .map((line) => JSON.parse(line.slice(6)) as unknown)
}

describe('conformance server', () => {
  let server: { url: string; close(): Promise<void> }
  before(async () => {
    server = await startConformanceServer({ port: 0 })
  })
  after(() => server.close())

  test('initialize, then list tools, resources and prompts in the session', async () => {
    const init = await fetch(server.url, {
      method: 'POST',
      headers: HEADERS,
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 1,
        method: 'initialize',
        params: {
          protocolVersion: '2025-11-25',
          capabilities: {},
          clientInfo: { name: 'test', version: '1' },
        },
      }),
    })
    assert.equal(init.status, 200)
    const sessionId = init.headers.get('mcp-session-id') ?? ''
    assert.notEqual(sessionId, '')
    const [initResult] = sseData(await init.text()) as [
      { result: { capabilities: Record<string, unknown> } },
    ]
    assert.deepEqual(initResult.result.capabilities, {
      tools: { listChanged: true },
      resources: { listChanged: true, subscribe: true },
      prompts: { listChanged: true },
      completions: {},
      logging: {},
    })
    const list = async (method: string): Promise<string[]> => {
      const response = await fetch(server.url, {
        method: 'POST',
        headers: { ...HEADERS, 'mcp-session-id': sessionId },
        body: JSON.stringify({ jsonrpc: '2.0', id: 2, method }),
      })
      assert.equal(response.status, 200)
      const [message] = sseData(await response.text()) as [
        { result: Record<string, { name: string }[]> },
      ]
      return Object.values(message.result)[0]?.map((item) => item.name) ?? []
    }
    assert.deepEqual(await list('tools/list'), [
      'test_simple_text',
      'test_image_content',
      'test_audio_content',
      'test_embedded_resource',
      'test_multiple_content_types',
      'test_tool_with_logging',
      'test_tool_with_progress',
      'test_error_handling',
      'test_sampling',
      'test_elicitation',
      'test_elicitation_sep1034_defaults',
      'test_elicitation_sep1330_enums',
      'json_schema_2020_12_tool',
      'test_reconnection',
      'test_x_mcp_header',
      'test_missing_capability',
      'test_streaming_elicitation',
      'test_logging_tool',
      'test_trigger_tool_change',
      'test_trigger_prompt_change',
      'test_input_required_result_elicitation',
      'test_input_required_result_sampling',
      'test_input_required_result_list_roots',
      'test_input_required_result_request_state',
      'test_input_required_result_multiple_inputs',
      'test_input_required_result_multi_round',
      'test_input_required_result_tampered_state',
      'test_input_required_result_capabilities',
      'greet',
      'slow_compute',
      'failing_job',
      'protocol_error_job',
      'confirm_delete',
      'multi_input',
      'test_tool_with_task',
    ])
    assert.deepEqual(await list('resources/list'), [
      'static-text',
      'static-binary',
      'watched-resource',
    ])
    assert.deepEqual(await list('prompts/list'), [
      'test_input_required_result_prompt',
      'test_simple_prompt',
      'test_prompt_with_arguments',
      'test_prompt_with_embedded_resource',
      'test_prompt_with_image',
    ])
  })

  test('2026-07-28: server/discover without a session, then an input_required round trip', async () => {
    const modern = async (method: string, params: Record<string, unknown>) => {
      const response = await fetch(server.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
          'mcp-protocol-version': '2026-07-28',
          'mcp-method': method,
          ...(typeof params.name === 'string' ? { 'mcp-name': params.name } : {}),
        },
        body: JSON.stringify({
          jsonrpc: '2.0',
          id: 1,
          method,
          params: {
            ...params,
            _meta: {
              'io.modelcontextprotocol/protocolVersion': '2026-07-28',
              'io.modelcontextprotocol/clientInfo': { name: 'test', version: '1' },
              'io.modelcontextprotocol/clientCapabilities': { elicitation: { form: {} } },
            },
          },
        }),
      })
      assert.equal(response.status, 200)
      assert.equal(response.headers.get('mcp-session-id'), null)
      return ((await response.json()) as { result: Record<string, unknown> }).result
    }
    const discovered = await modern('server/discover', {})
    assert.ok((discovered.supportedVersions as string[]).includes('2026-07-28'))
    // 2026-07-28 carries the server's identity in the result's `_meta`.
    assert.deepEqual(
      (discovered._meta as Record<string, unknown>)['io.modelcontextprotocol/serverInfo'],
      { name: 'dauth-conformance-server', version: '1.0.0' },
    )
    const asked = await modern('tools/call', {
      name: 'test_input_required_result_elicitation',
      arguments: {},
    })
    assert.equal(asked.resultType, 'input_required')
    const answered = await modern('tools/call', {
      name: 'test_input_required_result_elicitation',
      arguments: {},
      inputResponses: { user_name: { action: 'accept', content: { name: 'Ada' } } },
    })
    assert.deepEqual(answered.content, [{ type: 'text', text: 'Hello, Ada!' }])
  })

  test('2026-07-28 tasks fixtures: multi-round-trip input, then a task (SEP-2663)', async () => {
    const tasks = { 'io.modelcontextprotocol/tasks': {} }
    const modern = async (method: string, params: Record<string, unknown>) => {
      const name = params.name ?? params.taskId
      const response = await fetch(server.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
          'mcp-protocol-version': '2026-07-28',
          'mcp-method': method,
          ...(typeof name === 'string' ? { 'mcp-name': name } : {}),
        },
        body: JSON.stringify({
          jsonrpc: '2.0',
          id: 1,
          method,
          params: {
            ...params,
            _meta: {
              'io.modelcontextprotocol/protocolVersion': '2026-07-28',
              'io.modelcontextprotocol/clientInfo': { name: 'test', version: '1' },
              'io.modelcontextprotocol/clientCapabilities': {
                elicitation: { form: {} },
                extensions: tasks,
              },
            },
          },
        }),
      })
      assert.equal(response.status, 200)
      return ((await response.json()) as { result: Record<string, unknown> }).result
    }
    const discovered = await modern('server/discover', {})
    assert.deepEqual((discovered.capabilities as Record<string, unknown>).extensions, tasks)
    const asked = await modern('tools/call', { name: 'test_tool_with_task', arguments: {} })
    assert.equal(asked.resultType, 'input_required')
    const created = await modern('tools/call', {
      name: 'test_tool_with_task',
      arguments: {},
      inputResponses: { user_name: { action: 'accept', content: { name: 'Alice' } } },
    })
    assert.equal(created.resultType, 'task')
    assert.equal('content' in created, false)
    let task = await modern('tasks/get', { taskId: created.taskId })
    while (task.status === 'working') task = await modern('tasks/get', { taskId: created.taskId })
    assert.equal(task.status, 'completed')
    assert.deepEqual(task.result, { content: [{ type: 'text', text: 'Hello, Alice!' }] })
  })

  test('a foreign Host is refused with 403 (DNS rebinding protection stays on)', async () => {
    const url = new URL(server.url)
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(
        {
          host: '127.0.0.1',
          port: url.port,
          path: url.pathname,
          method: 'POST',
          headers: { ...HEADERS, host: 'evil.example.com' },
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
})
