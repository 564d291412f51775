/**
 * `@dauth/mcp-server/prometheus`: an {@link MCPServerObserver} that keeps Prometheus metrics
 * with prom-client. A separate subpath (prom-client an optional peer dependency) so that the
 * SDK itself forces no metrics library on its users; pass your own prom-client `Registry` to
 * expose these next to the application's metrics, or read {@link PrometheusObserver.render}.
 *
 * Metrics (every label value from a fixed list or a collected tool's name, never from the
 * request, so the series count stays bounded whatever callers send):
 * - `dauth_mcp_requests_total{outcome}`
 * - `dauth_mcp_auth_failures_total{reason}`
 * - `dauth_mcp_tool_calls_total{tool,outcome}`, `dauth_mcp_tool_call_duration_seconds{tool}`
 * - `dauth_mcp_dispatch_duration_seconds{outcome}` (`success` | `failure`),
 *   `dauth_mcp_dispatch_failures_total{code}`
 *
 * @example
 * ```ts
 * import { MCPServer } from '@dauth/mcp-server'
 * import { PrometheusObserver } from '@dauth/mcp-server/prometheus'
 *
 * const metrics = new PrometheusObserver()
 * const server = new MCPServer('tools', { resourceUrl: 'http://localhost:4100/mcp', observer: metrics })
 * const { contentType, body } = await metrics.render() // serve on GET /metrics
 * ```
 *
 * @module
 */
import { Counter, Histogram, Registry } from 'prom-client'
import {
  AUTH_FAILURE_REASONS,
  type AuthFailureEvent,
  DISPATCH_FAILURE_CODES,
  type DispatchEvent,
  type MCPServerObserver,
  REQUEST_OUTCOMES,
  type RequestEvent,
  type ToolCallEvent,
} from './observer.ts'

/** Options of {@link PrometheusObserver}. */
export interface PrometheusObserverOptions {
  /** Registry to register the metrics in (default: a new one owned by this observer). */
  registry?: Registry
  /** Metric name prefix (default `dauth_mcp_`). */
  prefix?: string
  /** Buckets (seconds) of the duration histograms. */
  buckets?: readonly number[]
}

const DEFAULT_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]

/** Prometheus metrics of one {@link MCPServer} (see the module description for the names). */
export class PrometheusObserver implements MCPServerObserver {
  /** The registry holding these metrics. */
  readonly registry: Registry
  readonly #requests: Counter<'outcome'>
  readonly #authFailures: Counter<'reason'>
  readonly #toolCalls: Counter<'tool' | 'outcome'>
  readonly #toolDuration: Histogram<'tool'>
  readonly #dispatchDuration: Histogram<'outcome'>
  readonly #dispatchFailures: Counter<'code'>

  constructor(options: PrometheusObserverOptions = {}) {
    this.registry = options.registry ?? new Registry()
    const prefix = options.prefix ?? 'dauth_mcp_'
    const registers = [this.registry]
    const buckets = [...(options.buckets ?? DEFAULT_BUCKETS)]
    this.#requests = new Counter({
      name: `${prefix}requests_total`,
      help: 'HTTP requests answered, by outcome',
      labelNames: ['outcome'],
      registers,
    })
    this.#authFailures = new Counter({
      name: `${prefix}auth_failures_total`,
      help: 'Requests refused by the authorization check, by reason',
      labelNames: ['reason'],
      registers,
    })
    this.#toolCalls = new Counter({
      name: `${prefix}tool_calls_total`,
      help: 'tools/call of collected tools, by tool and outcome',
      labelNames: ['tool', 'outcome'],
      registers,
    })
    this.#toolDuration = new Histogram({
      name: `${prefix}tool_call_duration_seconds`,
      help: 'Duration of tools/call handlers, by tool',
      labelNames: ['tool'],
      buckets,
      registers,
    })
    this.#dispatchDuration = new Histogram({
      name: `${prefix}dispatch_duration_seconds`,
      help: 'Duration of dispatches through the enclave (token exchange included), by outcome',
      labelNames: ['outcome'],
      buckets,
      registers,
    })
    this.#dispatchFailures = new Counter({
      name: `${prefix}dispatch_failures_total`,
      help: 'Failed dispatches through the enclave, by stable error code',
      labelNames: ['code'],
      registers,
    })
    // Zero-valued series from the start, so rates and alerts work before the first event.
    for (const outcome of REQUEST_OUTCOMES) this.#requests.inc({ outcome }, 0)
    for (const reason of AUTH_FAILURE_REASONS) this.#authFailures.inc({ reason }, 0)
    for (const code of DISPATCH_FAILURE_CODES) this.#dispatchFailures.inc({ code }, 0)
  }

  request(event: RequestEvent): void {
    this.#requests.inc({ outcome: event.outcome })
  }

  authFailure(event: AuthFailureEvent): void {
    this.#authFailures.inc({ reason: event.reason })
  }

  toolCall(event: ToolCallEvent): void {
    this.#toolCalls.inc({ tool: event.tool, outcome: event.outcome })
    this.#toolDuration.observe({ tool: event.tool }, event.durationSeconds)
  }

  dispatch(event: DispatchEvent): void {
    const outcome = event.failure === undefined ? 'success' : 'failure'
    this.#dispatchDuration.observe({ outcome }, event.durationSeconds)
    if (event.failure !== undefined) this.#dispatchFailures.inc({ code: event.failure })
  }

  /** The Prometheus text exposition of {@link PrometheusObserver.registry}. */
  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() }
  }
}
