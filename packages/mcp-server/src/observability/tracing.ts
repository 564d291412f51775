/**
 * OpenTelemetry tracing hooks. Only `@opentelemetry/api` is used: without an SDK registered by
 * the application every call is a no-op. With one, the server makes a SERVER span per HTTP
 * request (parent: the incoming W3C `traceparent`), an INTERNAL span `tools/call <name>` per
 * tool call and a CLIENT span `dispatch` per dispatch through the enclave, whose context is
 * injected (`traceparent`, `tracestate`) on the token exchange and the enclave call.
 *
 * Attributes are fixed names with bounded, request-independent values (method, status,
 * outcome, collected tool name, stable error code, the validated request id): never a
 * token, a proof, an envelope, a credential or a URL from the request.
 *
 * @module
 */
import {
  type Context,
  context,
  propagation,
  type Span,
  SpanKind,
  SpanStatusCode,
  type TextMapGetter,
  trace,
} from '@opentelemetry/api'

const TRACER_NAME = '@dauth/mcp-server'

const headersGetter: TextMapGetter<Headers> = {
  keys: (carrier) => [...carrier.keys()],
  get: (carrier, key) => carrier.get(key) ?? undefined,
}

function tracer() {
  return trace.getTracer(TRACER_NAME)
}

/** The context of an incoming request: its `traceparent` / `tracestate`, if any. */
export function extractContext(headers: Headers): Context {
  return propagation.extract(context.active(), headers, headersGetter)
}

/**
 * Runs `fn` in a new active span; `fn` may set attributes and the status. The span ends when
 * `fn` settles; a rejection marks it as an error (the exception's message is not recorded: it
 * may come from an application).
 */
export function inSpan<T>(
  name: string,
  kind: SpanKind,
  parent: Context,
  attributes: Record<string, string | number>,
  fn: (span: Span) => Promise<T>,
): Promise<T> {
  return tracer().startActiveSpan(name, { kind, attributes }, parent, async (span) => {
    try {
      return await fn(span)
    } catch (error) {
      span.setStatus({ code: SpanStatusCode.ERROR })
      throw error
    } finally {
      span.end()
    }
  })
}

/** `traceparent` / `tracestate` of the active span, for an outbound hop (none without an SDK). */
export function traceHeaders(): Record<string, string> {
  const carrier: Record<string, string> = {}
  propagation.inject(context.active(), carrier)
  return carrier
}

export { context, SpanKind, SpanStatusCode }
