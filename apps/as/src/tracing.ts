/**
 * OpenTelemetry request spans of the AS. Only `@opentelemetry/api` is used: without an SDK
 * registered by the process every call is a no-op. Each request gets a SERVER span named
 * `<method> <route pattern>` (the fastify route, never the raw URL: no handle, code or query
 * string reaches a span), continuing the caller's W3C `traceparent` (the MCP server's token
 * exchange, the enclave worker's envelope fetch). Attributes are fixed names with bounded
 * values: method, route, status and the validated request id.
 *
 * @module
 */
import {
  ProxyTracerProvider,
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
} from '@opentelemetry/api'
import type { TextMapGetter } from '@opentelemetry/api'
import type { FastifyInstance } from 'fastify'
import type { IncomingHttpHeaders } from 'node:http'

const KNOWN_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'PATCH'])

const getter: TextMapGetter<IncomingHttpHeaders> = {
  keys: (carrier) => Object.keys(carrier),
  get: (carrier, key) => carrier[key],
}

/** Adds the span hooks to `app` (an `onRequest` hook; the span ends when the answer does). */
export function registerTracing(app: FastifyInstance): void {
  app.addHook('onRequest', (request, reply, done) => {
    // No SDK registered: no span, no per-request cost.
    const provider = trace.getTracerProvider()
    const tracer =
      provider instanceof ProxyTracerProvider
        ? provider.getDelegateTracer('@dauth/as')
        : provider.getTracer('@dauth/as')
    if (!tracer) {
      done()
      return
    }
    const method = KNOWN_METHODS.has(request.method) ? request.method : '_OTHER'
    const route = request.routeOptions.url
    const parent = propagation.extract(ROOT_CONTEXT, request.headers, getter)
    const span = tracer.startSpan(
      route === undefined ? method : `${method} ${route}`,
      {
        kind: SpanKind.SERVER,
        attributes: {
          'http.request.method': method,
          ...(route !== undefined ? { 'http.route': route } : {}),
          'dauth.request_id': request.id,
        },
      },
      parent,
    )
    // 'close' fires for every answer, hijacked (oidc-provider) ones and aborted ones too.
    reply.raw.once('close', () => {
      const status = reply.raw.statusCode
      span.setAttribute('http.response.status_code', status)
      if (status >= 500) span.setStatus({ code: SpanStatusCode.ERROR })
      span.end()
    })
    done()
  })
}
