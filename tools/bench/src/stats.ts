/** Small statistics and machine-description helpers shared by the benches and the runner. */
import { cpus, freemem, loadavg, totalmem } from 'node:os'

/** Median of `values` (mean of the two middle values for an even count); NaN when empty. */
export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN
  const sorted = [...values].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2
}

/** Nearest-rank percentile `p` (0–100) of an ascending-sorted array; NaN when empty. */
export function percentileSorted(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return Number.NaN
  const rank = Math.ceil((p / 100) * sorted.length)
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))] as number
}

/** min / median / max of repeated measurements (the noise of a figure). */
export interface Spread {
  min: number
  median: number
  max: number
}

export function spread(values: readonly number[]): Spread {
  return { min: Math.min(...values), median: median(values), max: Math.max(...values) }
}

/** Round to `digits` decimals (keeps JSON reports readable). */
export function round(value: number, digits = 2): number {
  const f = 10 ** digits
  return Math.round(value * f) / f
}

/** The machine a figure was measured on. */
export interface MachineInfo {
  cpuModel: string
  cores: number
  memoryGiB: number
  freeMemoryGiB: number
  loadAverage: [number, number, number]
  node: string
  platform: string
}

export function machineInfo(): MachineInfo {
  const list = cpus()
  const [one, five, fifteen] = loadavg()
  return {
    cpuModel: list[0]?.model.trim() ?? 'unknown',
    cores: list.length,
    memoryGiB: round(totalmem() / 2 ** 30, 1),
    freeMemoryGiB: round(freemem() / 2 ** 30, 1),
    loadAverage: [round(one ?? 0), round(five ?? 0), round(fifteen ?? 0)],
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
  }
}

/** Whether an aim was met, and by how much (positive margin = better than the aim). */
export interface AimResult {
  aim: string
  /** Target as a ratio in percent (e.g. 70 for "≥ 70 %"). */
  targetPercent: number
  actualPercent: number
  met: boolean
  /** actual − target, in percentage points. */
  marginPoints: number
}

export function aimAtLeast(aim: string, targetPercent: number, ratio: number): AimResult {
  const actualPercent = round(ratio * 100, 1)
  return {
    aim,
    targetPercent,
    actualPercent,
    met: actualPercent >= targetPercent,
    marginPoints: round(actualPercent - targetPercent, 1),
  }
}
