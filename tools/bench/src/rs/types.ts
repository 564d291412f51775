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

/** One point of the cost curve: min / median / max over repeats. */
export interface CurvePoint {
  connections: number
  count: number
  rps: Spread
  p50_ms: Spread
  p99_ms: Spread
  errors: number
}

/** One side of the instances comparison. */
export interface InstancesSide {
  rps: Spread
  p50_ms: Spread
  p99_ms: Spread
  /** Server CPU per request summed over the instances measured. */
  server_cpu_us_per_req: Spread
}

export interface RsBenchResult {
  name: 'rs'
  version: 2
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
  /** The server of the curve and the instances comparison. */
  scaleServer: string
  curve: CurvePoint[]
  instances: {
    connections: number
    one: InstancesSide
    two: InstancesSide
    two_over_one_rps: Spread
    /** Why the gain is bounded on this machine. */
    note: string
  }
  errors: number
  firstError?: string
}
