/** JSON shapes of the tools/bench benches other than the resource-server one (rs/types.ts). */
import type { LoadResult } from './rs/load.ts'
import type { MachineInfo, Spread } from './stats.ts'

export type ExchangeVariantId = 'exchange' | 'client_credentials'

export interface ExchangeVariant {
  label: string
  rps: Spread
  p50_ms: Spread
  p99_ms: Spread
  /** AS process CPU (user + system) per request, from /proc. */
  server_cpu_us_per_req: Spread
  runs: LoadResult[]
}

/** Written by src/exchange.bench.ts to BENCH_JSON_OUT. */
export interface ExchangeBenchResult {
  name: 'as-token-exchange'
  version: 1
  quick: boolean
  command: string
  seconds: number
  machine: MachineInfo
  loadAverageAfter: [number, number, number]
  setup: string
  config: { connections: number; count: number; warmup: number; repeats: number }
  variants: Record<ExchangeVariantId, ExchangeVariant>
  /** Per-repeat ratios exchange ÷ client credentials (same repeat), min / median / max. */
  ratios: {
    exchange_over_cc_rps: Spread
    exchange_over_cc_p50: Spread
    exchange_over_cc_p99: Spread
    exchange_over_cc_cpu_per_req: Spread
  }
  errors: number
  firstError?: string
}
