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
  INVALID_SPAN_CONTEXT,
  ProxyTracerProvider,
  propagation,
  type Span,
  SpanKind,
  SpanStatusCode,
  type TextMapGetter,
  type Tracer,
  trace,
} from '@opentelemetry/api'

const TRACER_NAME = '@dauth/mcp-server'

const headersGetter: TextMapGetter<Headers> = {
  keys: (carrier) => [...carrier.keys()],
  get: (carrier, key) => carrier.get(key) ?? undefined,
}

/**
 * The tracer, or `undefined` while no SDK is registered: then no span is started at all, so
 * an application without tracing pays nothing per request for these hooks.
 */
function tracer(): Tracer | undefined {
  const provider = trace.getTracerProvider()
  return provider instanceof ProxyTracerProvider
    ? provider.getDelegateTracer(TRACER_NAME)
    : provider.getTracer(TRACER_NAME)
}

/** What `fn` gets when no SDK is registered (every method a no-op). */
const NO_SPAN: Span = trace.wrapSpanContext(INVALID_SPAN_CONTEXT)

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
  parent: () => Context,
  attributes: Record<string, string | number>,
  fn: (span: Span) => Promise<T>,
): Promise<T> {
  const active = tracer()
  if (!active) return fn(NO_SPAN)
  return active.startActiveSpan(name, { kind, attributes }, parent(), async (span) => {
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
