/**
 * Headers that carry the current request's id and trace context on an outbound hop (token
 * exchange at the AS, `/dispatch` at the enclave). Empty outside a request and without an
 * OpenTelemetry SDK.
 *
 * @module
 */
import { requestIdHeaders } from './requestId.ts'
import { traceHeaders } from './tracing.ts'

export function outboundHeaders(): Record<string, string> {
  return { ...requestIdHeaders(), ...traceHeaders() }
}
