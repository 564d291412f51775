/** JSON shape of the RS bench result (written to BENCH_JSON_OUT). */
import type { AimResult, MachineInfo, Spread } from '../stats.ts'
import type { LoadResult } from './load.ts'

export type VariantId = 'A' | 'B' | 'C'

export interface VariantResult {
  label: string
  rps: Spread
  p50_ms: Spread
  p99_ms: Spread
  /** Server CPU (user + system) per request, from /proc; NaN where unavailable. */
  server_cpu_us_per_req: Spread
  runs: LoadResult[]
}

export interface CurvePoint {
  connections: number
  count: number
  rps: number
  p50_ms: number
  p99_ms: number
  errors: number
}

export interface RsBenchResult {
  name: 'rs'
  version: 1
  quick: boolean
  command: string
  startedAt: string
  seconds: number
  machine: MachineInfo
  loadAverageAfter: [number, number, number]
  config: {
    connections: number
    count: number
    warmup: number
    repeats: number
    curve: number[]
    curveCount: number
    responseMode: 'json'
  }
  variants: Record<VariantId, VariantResult>
  /** Per-repeat ratios (same repeat, interleaved), min/median/max. */
  ratios: {
    A_over_B_rps: Spread
    A_over_C_rps: Spread
    A_over_B_p99: Spread
    A_over_C_p99: Spread
    /** Server CPU µs per request of B (or C) ÷ that of A: less sensitive to other load than req/s. */
    A_over_B_cpu_efficiency: Spread
    A_over_C_cpu_efficiency: Spread
  }
  aims: AimResult[]
  curve: CurvePoint[]
  instances: {
    connections: number
    one: { rps: Spread; p99_ms: Spread }
    two: { rps: Spread; p99_ms: Spread }
    two_over_one_rps: Spread
  }
  errors: number
  firstError?: string
}
