// The opt-in Prometheus metrics (`@dauth/mcp-server/prometheus`): scraped after real HTTP
// calls through a stub AS and a stub enclave; exact metric lines.
import assert from 'node:assert/strict'
import { createServer, type Server } from 'node:http'
import { after, before, describe, test } from 'node:test'
import { z } from 'zod'
import {
  DispatchError,
  getContext,
  MCPServer,
  type MCPServerObserver,
  type RequestEvent,
  tool,
} from '../src/index.ts'
import { PrometheusObserver } from '../src/observability/prometheus.ts'
import {
  callMcp,
  close,
  listen,
  mintToken,
  readAll,
  type StubAs,
  startStubAs,
  toolCall,
} from './helpers.ts'

describe('Prometheus metrics', () => {
  let as: StubAs
  let enclave: Server
  let url: string
  let stop: () => Promise<void>
  const metrics = new PrometheusObserver()
  const requests: RequestEvent[] = []
  const enclaveRequestIds: (string | string[] | undefined)[] = []
  // A second observer next to the metrics: a throwing one must not change any answer.
  const observer: MCPServerObserver = {
    request: (event) => {
      metrics.request(event)
      requests.push(event)
    },
    authFailure: (event) => {
      metrics.authFailure(event)
      throw new Error('observer failure')
    },
    toolCall: (event) => metrics.toolCall(event),
    dispatch: (event) => metrics.dispatch(event),
  }

  before(async () => {
    as = await startStubAs()
    as.onToken = (_request, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' })
      res.end(
        JSON.stringify({ access_token: 'dispatch-token', token_type: 'DPoP', expires_in: 60 }),
      )
    }
    enclave = createServer((req, res) => {
      enclaveRequestIds.push(req.headers['x-request-id'])
      void readAll(req).then((body) => {
        const handle = (JSON.parse(body) as { handle: string }).handle
        if (handle === 'hdl_gone') {
          res.writeHead(404, { 'content-type': 'application/json' })
          res.end(JSON.stringify({ error: 'handle_unavailable', error_description: 'gone' }))
          return
        }
        res.writeHead(200, { 'content-type': 'application/json' })
        res.end(JSON.stringify({ status: 200, headers: {}, body: 'ok' }))
      })
    })
    const enclaveUrl = `http://127.0.0.1:${await listen(enclave)}`
    const server = new MCPServer('metered', {
      authorization: {
        authorizationServers: [as.issuer],
        dpopRequired: false,
        insufficientScopeResponse: 'http-403',
      },
      dispatch: { enclaveUrl, clientId: 'mcp', clientSecret: 'secret' },
      observer,
    })
    server.collect(
      tool(
        {
          name: 'echo',
          description: 'echo',
          requiredScopes: ['read'],
          inputSchema: { text: z.string() },
        },
        ({ text }) => text,
      ),
      tool({ name: 'admin', description: 'admin', requiredScopes: ['admin'] }, () => 'done'),
      tool({ name: 'fail', description: 'fail', requiredScopes: ['read'] }, () => {
        throw new Error('tool failed')
      }),
      tool(
        {
          name: 'fetch',
          description: 'dispatch',
          requiredScopes: ['read'],
          inputSchema: { connection: z.string() },
        },
        async ({ connection }) => {
          try {
            return (await getContext().dispatch(connection, { method: 'GET', path: '/' })).body
          } catch (error) {
            return error instanceof DispatchError ? `error:${error.code}` : 'unexpected'
          }
        },
      ),
    )
    const running = await server.serve()
    url = running.url
    stop = () => running.close()
  })
  after(async () => {
    await stop()
    await close(enclave)
    await as.close()
  })

  test('counts requests, auth failures, tool calls and dispatches with exact lines', async () => {
    const token = await mintToken(as, url, {
      claims: { connections: { ok: 'hdl_ok', gone: 'hdl_gone' } },
    })
    const echo = await callMcp(url, { token, body: toolCall('echo', { text: 'hi' }) })
    assert.equal(echo.status, 200)
    assert.equal(echo.message?.result.content[0].text, 'hi')
    assert.equal((await callMcp(url, { body: toolCall('echo', { text: 'hi' }) })).status, 401)
    assert.equal((await callMcp(url, { token, body: toolCall('admin') })).status, 403)
    const failed = await callMcp(url, { token, body: toolCall('fail') })
    assert.equal(failed.message?.result.isError, true)
    const ok = await callMcp(url, { token, body: toolCall('fetch', { connection: 'ok' }) })
    assert.equal(ok.message?.result.content[0].text, 'ok')
    const gone = await callMcp(url, { token, body: toolCall('fetch', { connection: 'gone' }) })
    assert.equal(gone.message?.result.content[0].text, 'error:handle_unavailable')
    const missing = await callMcp(url, { token, body: toolCall('fetch', { connection: 'nope' }) })
    assert.equal(missing.message?.result.content[0].text, 'error:ERR_CONNECTION_UNAVAILABLE')

    const { contentType, body } = await metrics.render()
    assert.equal(contentType, 'text/plain; version=0.0.4; charset=utf-8')
    const lines = new Set(body.split('\n'))
    for (const line of [
      'dauth_mcp_requests_total{outcome="ok"} 5',
      'dauth_mcp_requests_total{outcome="unauthorized"} 1',
      'dauth_mcp_requests_total{outcome="forbidden"} 1',
      'dauth_mcp_requests_total{outcome="server_error"} 0',
      'dauth_mcp_auth_failures_total{reason="missing_token"} 1',
      'dauth_mcp_auth_failures_total{reason="insufficient_scope"} 1',
      'dauth_mcp_auth_failures_total{reason="invalid_token"} 0',
      'dauth_mcp_tool_calls_total{tool="echo",outcome="success"} 1',
      'dauth_mcp_tool_calls_total{tool="fail",outcome="error"} 1',
      'dauth_mcp_tool_calls_total{tool="fetch",outcome="success"} 3',
      'dauth_mcp_tool_call_duration_seconds_count{tool="echo"} 1',
      'dauth_mcp_tool_call_duration_seconds_count{tool="fetch"} 3',
      'dauth_mcp_dispatch_duration_seconds_count{outcome="success"} 1',
      'dauth_mcp_dispatch_duration_seconds_count{outcome="failure"} 2',
      'dauth_mcp_dispatch_failures_total{code="handle_unavailable"} 1',
      'dauth_mcp_dispatch_failures_total{code="ERR_CONNECTION_UNAVAILABLE"} 1',
      'dauth_mcp_dispatch_failures_total{code="ERR_TOKEN_EXCHANGE"} 0',
    ]) {
      assert.ok(lines.has(line), `missing: ${line}`)
    }
    // The refused call reached no handler: no tool series for it, and no token anywhere.
    assert.ok(!body.includes('tool="admin"'))
    assert.ok(!body.includes(token))
  })

  test('echoes a well-formed X-Request-Id and replaces a malformed one', async () => {
    const kept = await callMcp(url, { headers: { 'x-request-id': 'req-1.a:B_c' } })
    assert.equal(kept.headers.get('x-request-id'), 'req-1.a:B_c')
    const replaced = await callMcp(url, { headers: { 'x-request-id': 'bad id\u00e9<script>' } })
    const id = replaced.headers.get('x-request-id') ?? ''
    assert.match(id, /^[0-9a-f-]{36}$/)
    assert.equal(requests.at(-1)?.requestId, id)
    const long = await callMcp(url, { headers: { 'x-request-id': 'a'.repeat(129) } })
    assert.match(long.headers.get('x-request-id') ?? '', /^[0-9a-f-]{36}$/)
  })

  test('forwards the request id to the token exchange and to the enclave', async () => {
    as.tokenRequests.length = 0
    enclaveRequestIds.length = 0
    const token = await mintToken(as, url, { claims: { connections: { ok: 'hdl_ok' } } })
    const answer = await callMcp(url, {
      token,
      headers: { 'x-request-id': 'hop-42' },
      body: toolCall('fetch', { connection: 'ok' }),
    })
    assert.equal(answer.message?.result.content[0].text, 'ok')
    assert.equal(answer.headers.get('x-request-id'), 'hop-42')
    assert.deepEqual(
      as.tokenRequests.map((r) => r.headers['x-request-id']),
      ['hop-42'],
    )
    assert.deepEqual(enclaveRequestIds, ['hop-42'])
  })
})
