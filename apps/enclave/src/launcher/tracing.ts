/**
 * The launcher's OpenTelemetry span of a dispatch. Only `@opentelemetry/api` is used (no-op
 * unless the process registers an SDK), and only in the launcher: the worker gets the
 * span's W3C trace context as two strings over IPC and forwards them on its envelope fetch
 * from the AS, so the measured worker bundle carries no tracing code.
 *
 * The span (SERVER, `POST /dispatch`) continues the caller's `traceparent`. Its attributes are
 * fixed names with bounded values: status, the enclave's error code and the validated
 * request id; never the token, the proof, the handle or anything of the request body.
 *
 * @module
 */
import type { IncomingHttpHeaders } from 'node:http'
import {
  ProxyTracerProvider,
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  type TextMapGetter,
  trace,
} from '@opentelemetry/api'

const getter: TextMapGetter<IncomingHttpHeaders> = {
  keys: (carrier) => Object.keys(carrier),
  get: (carrier, key) => carrier[key],
}

/** One dispatch's span: the trace headers for the worker, and how to end it. */
export interface DispatchSpan {
  /** `traceparent` (and `tracestate`) naming this span; empty without an SDK. */
  traceHeaders: Record<string, string>
  end(status: number, error?: string): void
}

const NO_SPAN: DispatchSpan = { traceHeaders: {}, end: () => undefined }

export function startDispatchSpan(headers: IncomingHttpHeaders, reqId: string): DispatchSpan {
  // No SDK registered: no span, no per-dispatch cost.
  const provider = trace.getTracerProvider()
  const tracer =
    provider instanceof ProxyTracerProvider
      ? provider.getDelegateTracer('@dauth/enclave')
      : provider.getTracer('@dauth/enclave')
  if (!tracer) return NO_SPAN
  const parent = propagation.extract(ROOT_CONTEXT, headers, getter)
  const span = tracer.startSpan(
    'POST /dispatch',
    {
      kind: SpanKind.SERVER,
      attributes: {
        'http.request.method': 'POST',
        'http.route': '/dispatch',
        'dauth.request_id': reqId,
      },
    },
    parent,
  )
  const traceHeaders: Record<string, string> = {}
  propagation.inject(trace.setSpan(parent, span), traceHeaders)
  return {
    traceHeaders,
    end(status, error) {
      span.setAttribute('http.response.status_code', status)
      if (error !== undefined) span.setAttribute('error.type', error)
      if (status >= 500) span.setStatus({ code: SpanStatusCode.ERROR })
      span.end()
    },
  }
}
