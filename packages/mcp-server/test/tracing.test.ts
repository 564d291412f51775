// OpenTelemetry hooks with a real SDK (in-memory exporter): the SERVER span continues the
// caller's traceparent, `tools/call <name>` is its child, the `dispatch` CLIENT span is the
// tool span's child and its context travels to the AS and the enclave; no attribute carries a
// token, a proof or an envelope.
import assert from 'node:assert/strict'
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http'
import { after, before, describe, test } from 'node:test'
import { context, propagation, SpanKind, trace } from '@opentelemetry/api'
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks'
import { W3CTraceContextPropagator } from '@opentelemetry/core'
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base'
import { z } from 'zod'
import { getContext, MCPServer, tool } from '../src/index.ts'
import {
  callMcp,
  close,
  generateDpopKeyPair,
  listen,
  mintToken,
  readAll,
  type StubAs,
  startStubAs,
  toolCall,
} from './helpers.ts'

const exporter = new InMemorySpanExporter()
const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] })
trace.setGlobalTracerProvider(provider)
context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable())
propagation.setGlobalPropagator(new W3CTraceContextPropagator())

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736'
const CALLER_SPAN = '00f067aa0ba902b7'

function parentOf(span: ReadableSpan): string | undefined {
  return span.parentSpanContext?.spanId
}

describe('OpenTelemetry tracing', () => {
  let as: StubAs
  let enclave: Server
  let url: string
  let stop: () => Promise<void>
  const enclaveHeaders: IncomingHttpHeaders[] = []
  const secrets: string[] = []

  before(async () => {
    as = await startStubAs()
    as.onToken = (_request, res) => {
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end(
        JSON.stringify({
          access_token: 'dispatch-token-canary',
          token_type: 'DPoP',
          expires_in: 60,
        }),
      )
    }
    enclave = createServer((req, res) => {
      enclaveHeaders.push(req.headers)
      void readAll(req).then(() => {
        res.writeHead(200, { 'content-type': 'application/json' })
        res.end(JSON.stringify({ status: 200, headers: {}, body: 'upstream-body-canary' }))
      })
    })
    const server = new MCPServer('traced', {
      authorization: { authorizationServers: [as.issuer] },
      dispatch: {
        enclaveUrl: `http://127.0.0.1:${await listen(enclave)}`,
        clientId: 'mcp',
        clientSecret: 'client-secret-canary',
      },
    })
    server.collect(
      tool(
        {
          name: 'fetch',
          description: 'dispatch',
          requiredScopes: ['read'],
          inputSchema: { connection: z.string() },
        },
        async ({ connection }) =>
          (await getContext().dispatch(connection, { method: 'GET', path: '/' })).body,
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
    await provider.shutdown()
  })

  test('spans, their parents, and the trace context on the outbound hops', async () => {
    const key = await generateDpopKeyPair('ES256')
    const token = await mintToken(as, url, {
      claims: { connections: { demo: 'hdl_canary_handle' }, cnf: { jkt: key.jkt } },
    })
    secrets.push(token, 'dispatch-token-canary', 'client-secret-canary', 'hdl_canary_handle')
    exporter.reset()
    const answer = await callMcp(url, {
      token,
      dpop: key,
      headers: { traceparent: `00-${TRACE_ID}-${CALLER_SPAN}-01`, 'x-request-id': 'trace-1' },
      body: toolCall('fetch', { connection: 'demo' }),
    })
    assert.equal(answer.status, 200)
    assert.equal(answer.message?.result.content[0].text, 'upstream-body-canary')

    const spans = exporter.getFinishedSpans()
    assert.deepEqual(spans.map((s) => s.name).sort(), ['POST', 'dispatch', 'tools/call fetch'])
    const server = spans.find((s) => s.name === 'POST') as ReadableSpan
    const call = spans.find((s) => s.name === 'tools/call fetch') as ReadableSpan
    const dispatch = spans.find((s) => s.name === 'dispatch') as ReadableSpan
    for (const span of spans) assert.equal(span.spanContext().traceId, TRACE_ID)
    assert.equal(server.kind, SpanKind.SERVER)
    assert.equal(parentOf(server), CALLER_SPAN)
    assert.equal(call.kind, SpanKind.INTERNAL)
    assert.equal(parentOf(call), server.spanContext().spanId)
    assert.equal(dispatch.kind, SpanKind.CLIENT)
    assert.equal(parentOf(dispatch), call.spanContext().spanId)
    assert.deepEqual(server.attributes, {
      'http.request.method': 'POST',
      'dauth.request_id': 'trace-1',
      'http.response.status_code': 200,
    })
    assert.deepEqual(call.attributes, {
      'mcp.method.name': 'tools/call',
      'mcp.tool.name': 'fetch',
      'dauth.tool.outcome': 'success',
    })
    assert.deepEqual(dispatch.attributes, { 'dauth.dispatch.outcome': 'success' })

    // Both outbound hops carry the dispatch span as their parent.
    const expected = `00-${TRACE_ID}-${dispatch.spanContext().spanId}-01`
    assert.deepEqual(
      as.tokenRequests.map((r) => r.headers.traceparent),
      [expected],
    )
    assert.deepEqual(
      enclaveHeaders.map((h) => h.traceparent),
      [expected],
    )

    // Nothing secret in any span: names, attributes, events.
    const dump = JSON.stringify(
      spans.map((s) => ({ name: s.name, attributes: s.attributes, events: s.events })),
    )
    for (const secret of secrets) assert.ok(!dump.includes(secret), 'a secret in a span')
    assert.ok(!dump.includes('upstream-body-canary'))
    assert.ok(!/eyJ[A-Za-z0-9_-]{10,}/.test(dump), 'a JWT or proof in a span')
  })

  test('a refused request: one SERVER span with its status, nothing from the request', async () => {
    exporter.reset()
    const answer = await callMcp(url, {
      token: 'not-a-jwt-canary',
      headers: { 'x-request-id': 'bad id' },
    })
    assert.equal(answer.status, 401)
    const spans = exporter.getFinishedSpans()
    assert.equal(spans.length, 1)
    const [span] = spans as [ReadableSpan]
    assert.equal(span.parentSpanContext, undefined)
    assert.equal(span.attributes['http.response.status_code'], 401)
    assert.match(String(span.attributes['dauth.request_id']), /^[0-9a-f-]{36}$/)
    assert.ok(!JSON.stringify(span.attributes).includes('canary'))
  })
})
