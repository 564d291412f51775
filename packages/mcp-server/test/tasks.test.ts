// Tasks extension (io.modelcontextprotocol/tasks, SEP-2663) on 2026-07-28 requests: task
// creation, tasks/get / tasks/update / tasks/cancel, gating, and authorization of task
// operations (creator only, tool scopes).
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { z } from 'zod'
import {
  acceptedContent,
  getContext,
  inputRequired,
  MCPServer,
  MCPServerError,
  MemoryTaskStore,
  ProtocolError,
  ProtocolErrorCode,
  runAsTask,
  TASKS_EXTENSION_ID,
  type TaskRecord,
  tool,
} from '../src/index.ts'
import { mintToken, type StubAs, startStubAs } from './helpers.ts'

const MODERN = '2026-07-28'
const WITH_TASKS = { extensions: { [TASKS_EXTENSION_ID]: {} } }

interface Answer {
  status: number
  result: Record<string, unknown> | undefined
  error: { code: number; message: string; data?: unknown } | undefined
}

/** One raw 2026-07-28 request with the routing headers a client sends. */
async function call(
  url: string,
  token: string,
  method: string,
  params: Record<string, unknown>,
  capabilities: Record<string, unknown> = WITH_TASKS,
): Promise<Answer> {
  const name = params.name ?? params.taskId
  const response = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      'mcp-protocol-version': MODERN,
      'mcp-method': method,
      ...(typeof name === 'string' ? { 'mcp-name': name } : {}),
      authorization: `Bearer ${token}`,
    },
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method,
      params: {
        ...params,
        _meta: {
          'io.modelcontextprotocol/protocolVersion': MODERN,
          'io.modelcontextprotocol/clientInfo': { name: 'raw', version: '1' },
          'io.modelcontextprotocol/clientCapabilities': capabilities,
        },
      },
    }),
  })
  const body = (await response.json()) as {
    result?: Record<string, unknown>
    error?: Answer['error']
  }
  if (body.result) delete body.result._meta
  return { status: response.status, result: body.result, error: body.error }
}

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void
  const promise = new Promise<void>((r) => {
    resolve = r
  })
  return { promise, resolve }
}

describe('tasks extension', () => {
  let as: StubAs
  let url: string
  let stop: () => Promise<void>
  let release = deferred()
  let aborted = deferred()

  const token = (sub: string, scope = 'read') => mintToken(as, url, { claims: { sub, scope } })

  /** Polls tasks/get until the task leaves `status` (no timing: only the order of events). */
  async function nextStatus(bearer: string, taskId: string, status: string): Promise<Answer> {
    for (;;) {
      const answer = await call(url, bearer, 'tasks/get', { taskId })
      if (answer.result?.status !== status) return answer
      await new Promise((resolve) => setImmediate(resolve))
    }
  }

  before(async () => {
    as = await startStubAs()
    const server = new MCPServer('tasks-server', {
      authorization: { authorizationServers: [as.issuer], dpopRequired: false },
    })
    server.collect(
      tool(
        {
          name: 'export',
          description: 'Waits for the test, then reports the caller',
          requiredScopes: ['read'],
          inputSchema: { label: z.string() },
          taskSupport: 'optional',
        },
        ({ label }) =>
          runAsTask(async () => {
            const { signal, auth } = getContext()
            await new Promise<void>((resolve, reject) => {
              void release.promise.then(resolve)
              signal.addEventListener('abort', () => {
                aborted.resolve()
                reject(new Error('cancelled'))
              })
            })
            return `${label} for ${auth?.subject ?? '-'}`
          }),
      ),
      tool(
        {
          name: 'confirm',
          description: 'Asks for a confirmation inside the task',
          taskSupport: 'optional',
        },
        () =>
          runAsTask(() => {
            const answer = acceptedContent<{ ok: boolean }>(getContext().inputResponses, 'ok')
            if (answer === undefined) {
              return inputRequired({
                inputRequests: {
                  ok: inputRequired.elicit({
                    message: 'Sure?',
                    requestedSchema: {
                      type: 'object',
                      properties: { ok: { type: 'boolean' } },
                      required: ['ok'],
                    },
                  }),
                },
              })
            }
            return `ok=${String(answer.ok)}`
          }),
      ),
      tool(
        { name: 'crash', description: 'Fails with a protocol error', taskSupport: 'required' },
        () =>
          runAsTask(() => {
            throw new ProtocolError(ProtocolErrorCode.InternalError, 'crashed')
          }),
      ),
      tool(
        { name: 'pair', description: 'Asks two questions at once', taskSupport: 'optional' },
        () =>
          runAsTask(() => {
            const responses = getContext().inputResponses
            const a = acceptedContent<{ v: string }>(responses, 'a')
            const b = acceptedContent<{ v: string }>(responses, 'b')
            if (a === undefined || b === undefined) {
              const ask = inputRequired.elicit({
                message: 'Value?',
                requestedSchema: {
                  type: 'object',
                  properties: { v: { type: 'string' } },
                  required: ['v'],
                },
              })
              return inputRequired({ inputRequests: { a: ask, b: ask } })
            }
            return `${a.v}+${b.v}`
          }),
      ),
      tool({ name: 'plain', description: 'No tasks' }, () => 'plain'),
    )
    const running = await server.serve()
    url = running.url
    stop = async () => {
      await running.close()
      await as.close()
    }
  })
  after(() => stop())

  test('server/discover advertises the extension', async () => {
    const answer = await call(url, await token('alice'), 'server/discover', {})
    const capabilities = answer.result?.capabilities as Record<string, unknown>
    assert.deepEqual(capabilities.extensions, { [TASKS_EXTENSION_ID]: {} })
    assert.equal('tasks' in capabilities, false)
  })

  test('a task runs to completion and tasks/get inlines the result', async () => {
    release = deferred()
    const alice = await token('alice')
    const created = await call(url, alice, 'tools/call', {
      name: 'export',
      arguments: { label: 'report' },
    })
    assert.equal(created.status, 200)
    const task = created.result as Record<string, unknown>
    assert.deepEqual(Object.keys(task).sort(), [
      'createdAt',
      'lastUpdatedAt',
      'pollIntervalMs',
      'resultType',
      'status',
      'taskId',
      'ttlMs',
    ])
    assert.equal(task.resultType, 'task')
    assert.equal(task.status, 'working')
    assert.equal(task.ttlMs, 600_000)
    assert.equal(task.pollIntervalMs, 500)
    assert.match(String(task.createdAt), /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/)
    const taskId = String(task.taskId)

    const working = await call(url, alice, 'tasks/get', { taskId })
    assert.equal(working.result?.status, 'working')
    assert.equal(working.result?.resultType, 'complete')
    assert.equal('result' in (working.result ?? {}), false)

    release.resolve()
    const done = await nextStatus(alice, taskId, 'working')
    assert.equal(done.result?.status, 'completed')
    assert.deepEqual(done.result?.result, { content: [{ type: 'text', text: 'report for alice' }] })
  })

  test('another subject can neither read nor cancel the task', async () => {
    release = deferred()
    aborted = deferred()
    const alice = await token('alice')
    const mallory = await token('mallory')
    const created = await call(url, alice, 'tools/call', {
      name: 'export',
      arguments: { label: 'secret' },
    })
    const taskId = String(created.result?.taskId)
    for (const method of ['tasks/get', 'tasks/cancel']) {
      const refused = await call(url, mallory, method, { taskId })
      assert.deepEqual(refused.error, { code: -32602, message: 'Unknown task' }, method)
    }
    const update = await call(url, mallory, 'tasks/update', { taskId, inputResponses: {} })
    assert.deepEqual(update.error, { code: -32602, message: 'Unknown task' })
    // Still alice's, still running.
    const still = await call(url, alice, 'tasks/get', { taskId })
    assert.equal(still.result?.status, 'working')
    // Alice without the tool's scope is refused as well.
    const unscoped = await call(url, await token('alice', 'other'), 'tasks/get', { taskId })
    assert.deepEqual(unscoped.error, {
      code: -32602,
      message: `Tool "export" requires scopes: ['read']. Missing: ['read']`,
    })
    const ack = await call(url, alice, 'tasks/cancel', { taskId })
    assert.deepEqual(ack.result, { resultType: 'complete' })
    await aborted.promise
    const cancelled = await call(url, alice, 'tasks/get', { taskId })
    assert.equal(cancelled.result?.status, 'cancelled')
    // Idempotent on a finished task.
    const again = await call(url, alice, 'tasks/cancel', { taskId })
    assert.deepEqual(again.result, { resultType: 'complete' })
  })

  test('the tool scope check applies to task creation', async () => {
    const answer = await call(url, await token('alice', 'other'), 'tools/call', {
      name: 'export',
      arguments: { label: 'x' },
    })
    assert.equal(answer.result?.isError, true)
    assert.equal('taskId' in (answer.result ?? {}), false)
  })

  test('without the extension: a synchronous result, and tasks/* answer -32021', async () => {
    release = deferred()
    release.resolve()
    const alice = await token('alice')
    const sync = await call(
      url,
      alice,
      'tools/call',
      { name: 'export', arguments: { label: 'inline' } },
      {},
    )
    assert.deepEqual(sync.result, {
      resultType: 'complete',
      content: [{ type: 'text', text: 'inline for alice' }],
    })
    const missing = {
      code: -32021,
      message: `The tasks extension (${TASKS_EXTENSION_ID}) was not declared`,
      data: { requiredCapabilities: { extensions: { [TASKS_EXTENSION_ID]: {} } } },
    }
    const get = await call(url, alice, 'tasks/get', { taskId: 'any' }, {})
    assert.deepEqual(get.error, missing)
    const required = await call(url, alice, 'tools/call', { name: 'crash', arguments: {} }, {})
    assert.deepEqual(required.error, {
      code: -32021,
      message: `Tool "crash" runs only as a task: declare ${TASKS_EXTENSION_ID}`,
      data: { requiredCapabilities: { extensions: { [TASKS_EXTENSION_ID]: {} } } },
    })
  })

  test('input_required: tasks/update answers the request and the work runs again', async () => {
    const alice = await token('alice')
    const created = await call(url, alice, 'tools/call', { name: 'confirm', arguments: {} })
    const taskId = String(created.result?.taskId)
    const parked = await nextStatus(alice, taskId, 'working')
    assert.equal(parked.result?.status, 'input_required')
    const requests = parked.result?.inputRequests as Record<string, { method: string }>
    assert.deepEqual(Object.keys(requests), ['ok'])
    assert.equal(requests.ok?.method, 'elicitation/create')
    const ack = await call(url, alice, 'tasks/update', {
      taskId,
      inputResponses: { ok: { action: 'accept', content: { ok: true } }, stray: {} },
    })
    assert.deepEqual(ack.result, { resultType: 'complete' })
    const done = await nextStatus(alice, taskId, 'working')
    assert.equal(done.result?.status, 'completed')
    assert.deepEqual(done.result?.result, { content: [{ type: 'text', text: 'ok=true' }] })
  })

  test('concurrent partial updates both count (per-task serialisation)', async () => {
    const alice = await token('alice')
    const created = await call(url, alice, 'tools/call', { name: 'pair', arguments: {} })
    const taskId = String(created.result?.taskId)
    const parked = await nextStatus(alice, taskId, 'working')
    assert.deepEqual(Object.keys(parked.result?.inputRequests ?? {}), ['a', 'b'])
    const acks = await Promise.all(
      ['a', 'b'].map((key) =>
        call(url, alice, 'tasks/update', {
          taskId,
          inputResponses: { [key]: { action: 'accept', content: { v: key.toUpperCase() } } },
        }),
      ),
    )
    for (const ack of acks) assert.deepEqual(ack.result, { resultType: 'complete' })
    const done = await nextStatus(alice, taskId, 'working')
    assert.deepEqual(done.result?.result, { content: [{ type: 'text', text: 'A+B' }] })
  })

  test('a ProtocolError fails the task with the inlined error', async () => {
    const alice = await token('alice')
    const created = await call(url, alice, 'tools/call', { name: 'crash', arguments: {} })
    const done = await nextStatus(alice, String(created.result?.taskId), 'working')
    assert.equal(done.result?.status, 'failed')
    assert.deepEqual(done.result?.error, { code: -32603, message: 'crashed' })
    assert.equal('result' in (done.result ?? {}), false)
  })

  test('unknown task ids, and the removed tasks/result and tasks/list', async () => {
    const alice = await token('alice')
    const unknown = await call(url, alice, 'tasks/get', { taskId: 'nope' })
    assert.equal(unknown.error?.code, -32602)
    assert.equal((await call(url, alice, 'tasks/result', { taskId: 'nope' })).error?.code, -32601)
    assert.equal((await call(url, alice, 'tasks/list', {})).error?.code, -32601)
  })
})

describe('MemoryTaskStore', () => {
  const record = (taskId: string, status: TaskRecord['status'], createdAt = 0): TaskRecord => ({
    taskId,
    owner: '',
    tool: 't',
    status,
    createdAt,
    lastUpdatedAt: createdAt,
    ttlMs: 1000,
    pollIntervalMs: 100,
  })

  test('is bounded: a finished task makes room, running ones never do', async () => {
    let now = 0
    const store = new MemoryTaskStore({ maxTasks: 2, now: () => now })
    await store.create(record('a', 'completed'))
    await store.create(record('b', 'working'))
    await store.create(record('c', 'working'))
    assert.equal(await store.get('a'), undefined)
    await assert.rejects(
      store.create(record('d', 'working')),
      (error: unknown) => error instanceof MCPServerError && error.code === 'ERR_TASK_LIMIT',
    )
    // Expired records make room and are gone.
    now = 1000
    await store.create(record('d', 'working', 1000))
    assert.equal(await store.get('b'), undefined)
    assert.equal((await store.get('d'))?.status, 'working')
  })

  test('returns copies: a change is stored only by put()', async () => {
    const store = new MemoryTaskStore({ now: () => 0 })
    await store.create(record('a', 'working'))
    const copy = await store.get('a')
    assert.ok(copy)
    copy.status = 'completed'
    assert.equal((await store.get('a'))?.status, 'working')
    await store.put(copy)
    assert.equal((await store.get('a'))?.status, 'completed')
  })
})
