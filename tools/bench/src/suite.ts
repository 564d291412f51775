/** Discovery and execution of package benches for the suite runner. */
import { spawn } from 'node:child_process'
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { join, relative } from 'node:path'
import { performance } from 'node:perf_hooks'

export interface BenchFile {
  /** Package directory, absolute. */
  packageDir: string
  /** Package name from package.json (or the folder name). */
  packageName: string
  /** Absolute path of the bench file. */
  file: string
  /** `bench/<name>.bench.ts` relative to the package. */
  relativeFile: string
}

export interface BenchRun {
  bench: BenchFile
  exitCode: number | null
  timedOut: boolean
  seconds: number
  stdout: string
  stderr: string
  /** Where the JSON came from: the BENCH_JSON_OUT file, a bench/results file written during the run, a JSON line on stdout, or none. */
  jsonSource: 'BENCH_JSON_OUT' | 'results-file' | 'stdout' | 'none'
  jsonFile?: string
  json?: unknown
}

/** Every `bench/*.bench.ts` under `packages/*` and `apps/*` of the repository root. */
export function discoverBenches(root: string): BenchFile[] {
  const found: BenchFile[] = []
  for (const group of ['packages', 'apps']) {
    const groupDir = join(root, group)
    if (!existsSync(groupDir)) continue
    for (const entry of readdirSync(groupDir).sort()) {
      const packageDir = join(groupDir, entry)
      const benchDir = join(packageDir, 'bench')
      if (!existsSync(benchDir) || !statSync(benchDir).isDirectory()) continue
      let packageName = entry
      try {
        const manifest = JSON.parse(readFileSync(join(packageDir, 'package.json'), 'utf8')) as {
          name?: unknown
        }
        if (typeof manifest.name === 'string') packageName = manifest.name
      } catch {
        // folder name
      }
      for (const name of readdirSync(benchDir).sort()) {
        if (!name.endsWith('.bench.ts')) continue
        const file = join(benchDir, name)
        found.push({ packageDir, packageName, file, relativeFile: relative(packageDir, file) })
      }
    }
  }
  return found
}

function lastJsonLine(stdout: string): unknown {
  const lines = stdout.split('\n').map((l) => l.trim())
  for (let i = lines.length - 1; i >= 0; i--) {
    const line = lines[i] as string
    if (!line.startsWith('{') || !line.endsWith('}')) continue
    try {
      return JSON.parse(line)
    } catch {
      // not JSON
    }
  }
  return undefined
}

/**
 * Run one bench as `node <file>` in its package directory with BENCH_JSON_OUT set, stdout and
 * stderr captured (and echoed with a prefix when `echo` is on).
 */
export async function runBench(
  bench: BenchFile,
  options: { jsonOut: string; env: NodeJS.ProcessEnv; timeoutMs: number; echo: boolean },
): Promise<BenchRun> {
  const startedMs = Date.now()
  const start = performance.now()
  const child = spawn(process.execPath, [bench.file], {
    cwd: bench.packageDir,
    env: { ...options.env, BENCH_JSON_OUT: options.jsonOut },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  const tag = `[${bench.packageName} ${bench.relativeFile}] `
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString('utf8')
    if (options.echo)
      process.stdout.write(tag + chunk.toString('utf8').replace(/\n(?=.)/g, `\n${tag}`))
  })
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8')
    if (options.echo)
      process.stderr.write(tag + chunk.toString('utf8').replace(/\n(?=.)/g, `\n${tag}`))
  })
  let timedOut = false
  const timer = setTimeout(() => {
    timedOut = true
    child.kill('SIGTERM')
  }, options.timeoutMs)
  const exitCode = await new Promise<number | null>((resolve) => {
    child.on('close', (code) => resolve(code))
  })
  clearTimeout(timer)
  const seconds = (performance.now() - start) / 1000

  const base = { bench, exitCode, timedOut, seconds, stdout, stderr }
  if (existsSync(options.jsonOut)) {
    try {
      return {
        ...base,
        jsonSource: 'BENCH_JSON_OUT',
        jsonFile: options.jsonOut,
        json: JSON.parse(readFileSync(options.jsonOut, 'utf8')),
      }
    } catch {
      // fall through
    }
  }
  const resultsDir = join(bench.packageDir, 'bench', 'results')
  if (existsSync(resultsDir)) {
    for (const name of readdirSync(resultsDir).sort()) {
      const file = join(resultsDir, name)
      if (!name.endsWith('.json') || statSync(file).mtimeMs < startedMs) continue
      try {
        return {
          ...base,
          jsonSource: 'results-file',
          jsonFile: file,
          json: JSON.parse(readFileSync(file, 'utf8')),
        }
      } catch {
        // ignore unreadable files
      }
    }
  }
  const json = lastJsonLine(stdout)
  return json === undefined
    ? { ...base, jsonSource: 'none' }
    : { ...base, jsonSource: 'stdout', json }
}

/** Scalar leaves of a JSON value as `path = value` rows; arrays named `runs` and long arrays are skipped. */
export function flattenJson(
  value: unknown,
  prefix = '',
  rows: [string, string][] = [],
): [string, string][] {
  if (value === null || typeof value !== 'object') {
    rows.push([prefix, JSON.stringify(value)])
    return rows
  }
  if (Array.isArray(value)) {
    if (prefix.endsWith('runs') || value.length > 12) {
      rows.push([prefix, `[${value.length} items]`])
      return rows
    }
    if (value.every((v) => v === null || typeof v !== 'object')) {
      rows.push([prefix, JSON.stringify(value)])
      return rows
    }
    value.forEach((v, i) => flattenJson(v, `${prefix}[${i}]`, rows))
    return rows
  }
  for (const [key, v] of Object.entries(value))
    flattenJson(v, prefix ? `${prefix}.${key}` : key, rows)
  return rows
}
