/**
 * `@dauth/bench` — the benchmark suite runner (`src/run.ts`, the root `pnpm bench`), the
 * resource-server and scale benchmark (`src/rs.bench.ts`) and the AS token-exchange benchmark
 * (`src/exchange.bench.ts`). Library surface: result types, the aims of issue 8 and the
 * helpers the runner uses.
 *
 * @module
 */
export {
  type BenchJson,
  evaluateAims,
  type Headline,
  headlines,
  numberAt,
  renderSuiteAim,
  SOURCES,
  type SuiteAim,
} from './aims.ts'
export { renderAim, renderExchangeMarkdown, renderMachine, renderRsMarkdown } from './report.ts'
export type { LoadResult, LoadSpec } from './rs/load.ts'
export type {
  CurvePoint,
  InstancesSide,
  RsBenchResult,
  VariantId,
  VariantResult,
} from './rs/types.ts'
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
export type { ExchangeBenchResult, ExchangeVariant, ExchangeVariantId } from './types.ts'
