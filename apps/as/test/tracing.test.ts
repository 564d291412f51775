// OpenTelemetry request spans of the AS with a real SDK (in-memory exporter): SERVER spans
// named by route pattern, continuing the caller's traceparent, with no token, secret or URL
// value in any attribute.
import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { context, propagation, SpanKind, trace } from '@opentelemetry/api'
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks'
import { W3CTraceContextPropagator } from '@opentelemetry/core'
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base'
import {
  ALICE,
  createDpopProof,
  generateDpopKeyPair,
  MCP_RESOURCE,
  startTestServer,
  type TestServer,
  tokenRequest,
} from './helpers.ts'

const exporter = new InMemorySpanExporter()
const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] })
trace.setGlobalTracerProvider(provider)
context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable())
propagation.setGlobalPropagator(new W3CTraceContextPropagator())

const TRACE_ID = '0af7651916cd43dd8448eb211c80319c'
const CALLER = 'b7ad6b7169203331'
const traceparent = `00-${TRACE_ID}-${CALLER}-01`

let server: TestServer
before(async () => {
  server = await startTestServer()
})
after(async () => {
  await server.close()
  await provider.shutdown()
})

test('SERVER spans per request: route-pattern names, the caller as parent, nothing secret', async () => {
  exporter.reset()
  const health = await fetch(`${server.url}/healthz`, {
    headers: { traceparent, 'x-request-id': 'span-1' },
  })
  assert.equal(health.status, 200)
  const token = await tokenRequest(
    server,
    { grant_type: 'client_credentials', resource: MCP_RESOURCE },
    {
      client: ALICE,
      dpop: await createDpopProof(await generateDpopKeyPair(), {
        htm: 'POST',
        htu: server.tokenEndpoint,
      }),
      headers: { traceparent },
    },
  )
  assert.equal(token.status, 200)
  const missing = await fetch(`${server.url}/nothing-here-canary?code=canary`)
  assert.equal(missing.status, 404)
  // Spans end on the socket's 'close' of each answer; the answers above have all been read.
  for (let i = 0; i < 50 && exporter.getFinishedSpans().length < 3; i++) {
    await new Promise((resolve) => setImmediate(resolve))
  }
  const spans = exporter.getFinishedSpans()
  assert.deepEqual(spans.map((s) => s.name).sort(), ['GET', 'GET /healthz', 'POST /oauth/*'])
  const byName = new Map(spans.map((s) => [s.name, s]))
  const healthSpan = byName.get('GET /healthz')
  assert.equal(healthSpan?.kind, SpanKind.SERVER)
  assert.equal(healthSpan?.spanContext().traceId, TRACE_ID)
  assert.equal(healthSpan?.parentSpanContext?.spanId, CALLER)
  assert.deepEqual(healthSpan?.attributes, {
    'http.request.method': 'GET',
    'http.route': '/healthz',
    'dauth.request_id': 'span-1',
    'http.response.status_code': 200,
  })
  const tokenSpan = byName.get('POST /oauth/*')
  assert.equal(tokenSpan?.parentSpanContext?.spanId, CALLER)
  assert.equal(tokenSpan?.attributes['http.response.status_code'], 200)
  assert.equal(byName.get('GET')?.parentSpanContext, undefined)
  const dump = JSON.stringify(spans.map((s) => ({ n: s.name, a: s.attributes, e: s.events })))
  for (const secret of [ALICE.client_secret, String(token.body.access_token), 'canary']) {
    assert.ok(!dump.includes(secret), 'a secret or request value in a span')
  }
})
