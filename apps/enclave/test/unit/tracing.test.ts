/**
 * The launcher's dispatch span with a real OpenTelemetry SDK (in-memory exporter): it
 * continues the caller's traceparent, hands the worker a traceparent naming itself, and
 * carries no token, proof or handle.
 */
import assert from 'node:assert/strict'
import { after, describe, it } from 'node:test'
import { context, propagation, SpanKind, trace } from '@opentelemetry/api'
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks'
import { W3CTraceContextPropagator } from '@opentelemetry/core'
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base'
import { startDispatchSpan } from '../../src/launcher/tracing.ts'

const exporter = new InMemorySpanExporter()
const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] })
trace.setGlobalTracerProvider(provider)
context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable())
propagation.setGlobalPropagator(new W3CTraceContextPropagator())

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736'
const CALLER = '00f067aa0ba902b7'

describe('dispatch span', () => {
  after(() => provider.shutdown())

  it("continues the caller's trace and names itself in the worker's traceparent", () => {
    exporter.reset()
    const span = startDispatchSpan(
      {
        traceparent: `00-${TRACE_ID}-${CALLER}-01`,
        authorization: 'DPoP token-canary',
        dpop: 'proof-canary',
      },
      'req-9',
    )
    span.end(403, 'host_not_allowed')
    const [finished, ...rest] = exporter.getFinishedSpans()
    assert.equal(rest.length, 0)
    assert.ok(finished)
    assert.equal(finished.name, 'POST /dispatch')
    assert.equal(finished.kind, SpanKind.SERVER)
    assert.equal(finished.spanContext().traceId, TRACE_ID)
    assert.equal(finished.parentSpanContext?.spanId, CALLER)
    assert.deepEqual(span.traceHeaders, {
      traceparent: `00-${TRACE_ID}-${finished.spanContext().spanId}-01`,
    })
    assert.deepEqual(finished.attributes, {
      'http.request.method': 'POST',
      'http.route': '/dispatch',
      'dauth.request_id': 'req-9',
      'http.response.status_code': 403,
      'error.type': 'host_not_allowed',
    })
    assert.ok(!JSON.stringify(finished.attributes).includes('canary'))
  })

  it('starts a new trace without a traceparent', () => {
    exporter.reset()
    startDispatchSpan({}, 'req-10').end(200)
    const [finished] = exporter.getFinishedSpans()
    assert.equal(finished?.parentSpanContext, undefined)
  })
})
