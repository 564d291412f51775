/**
 * The optional Bearer token in front of a service's Prometheus `GET /metrics` (the AS's
 * `DAUTH_AS_METRICS_TOKEN`, the example MCP server's `DAUTH_MCP_METRICS_TOKEN`): one check and
 * one refusal for every service that has it.
 *
 * @module
 */
import { timingSafeEqual } from 'node:crypto'

/** What a refused scrape gets: 401 with these headers and this JSON body. */
export const METRICS_REFUSAL = {
  status: 401,
  headers: { 'www-authenticate': 'Bearer realm="metrics"', 'cache-control': 'no-store' },
  body: { error: 'invalid_token', error_description: 'Metrics require the metrics token' },
} as const

/**
 * A check of a request's `Authorization` header against `Bearer <token>`, in constant time
 * (the length aside). Without a token every request passes: metrics are open.
 *
 * @example
 * ```ts
 * const allowed = metricsGuard(process.env.DAUTH_MCP_METRICS_TOKEN)
 * if (!allowed(req.headers.authorization)) answer(METRICS_REFUSAL)
 * ```
 */
export function metricsGuard(
  token: string | undefined,
): (authorization: string | undefined) => boolean {
  if (!token) return () => true
  const expected = Buffer.from(`Bearer ${token}`)
  return (authorization) => {
    const given = Buffer.from(authorization ?? '')
    return given.length === expected.length && timingSafeEqual(given, expected)
  }
}
