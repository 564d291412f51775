/**
 * `@dauth/bench` — the benchmark suite runner (`src/run.ts`, the root `pnpm bench`) and the
 * resource-server HTTP benchmark (`src/rs.bench.ts`). Library surface: result types and the
 * helpers the runner uses.
 *
 * @module
 */
export { renderAim, renderMachine, renderRsMarkdown } from './report.ts'
export type { LoadResult, LoadSpec } from './rs/load.ts'
export type { CurvePoint, RsBenchResult, VariantId, VariantResult } from './rs/types.ts'
export {
  type AimResult,
  aimAtLeast,
  type MachineInfo,
  machineInfo,
  median,
  percentileSorted,
  round,
  type Spread,
  spread,
} from './stats.ts'
export { type BenchFile, type BenchRun, discoverBenches, flattenJson, runBench } from './suite.ts'
