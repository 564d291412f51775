/**
 * `pnpm bench`: every package bench (`bench/*.bench.ts` under packages/* and apps/*), one after
 * another, then this package's HTTP benches (`src/*.bench.ts`: the resource server with the
 * scale runs, and the AS token exchange); writes bench/report.md and bench/report.json at the
 * repository root: machine, Node, each figure beside its same-run baseline, noise, and the
 * aims of issue 8 met or missed (by how much, why, what would close it). Each bench runs as
 * `node <file>` in its package directory with BENCH_JSON_OUT=<root>/bench/results/<name>.json;
 * BENCH_QUICK=1 is passed through (and pins the verify bench's BENCH_N to a smoke size).
 * Exit code 1 when a bench failed (the report is written anyway).
 * Env: BENCH_QUICK, BENCH_REPORT_DIR (default <root>/bench), BENCH_TIMEOUT_MS (per bench),
 * BENCH_ROOT (repository root; tests), BENCH_RS=0 (skip this package's HTTP benches; tests).
 */
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { loadavg, tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { performance } from 'node:perf_hooks'
import { evaluateAims, headlines, renderSuiteAim } from './aims.ts'
import { renderExchangeMarkdown, renderMachine, renderRsMarkdown } from './report.ts'
import type { RsBenchResult } from './rs/types.ts'
import { machineInfo, round } from './stats.ts'
import { type BenchFile, type BenchRun, discoverBenches, flattenJson, runBench } from './suite.ts'
import type { ExchangeBenchResult } from './types.ts'

const root = resolve(process.env.BENCH_ROOT ?? join(import.meta.dirname, '..', '..', '..'))
const QUICK = process.env.BENCH_QUICK === '1'
const outDir = resolve(process.env.BENCH_REPORT_DIR ?? join(root, 'bench'))
const resultsDir = join(outDir, 'results')
const timeoutMs = Number(process.env.BENCH_TIMEOUT_MS ?? (QUICK ? 120_000 : 1_800_000))

mkdirSync(resultsDir, { recursive: true })
const started = performance.now()
const machine = machineInfo()
const withRs = process.env.BENCH_RS !== '0'
const benches: BenchFile[] = [...discoverBenches(root)]
if (withRs) {
  for (const name of readdirSync(import.meta.dirname).sort()) {
    if (!name.endsWith('.bench.ts')) continue
    benches.push({
      packageDir: resolve(import.meta.dirname, '..'),
      packageName: '@dauth/bench',
      file: resolve(import.meta.dirname, name),
      relativeFile: `src/${name}`,
    })
  }
}
// Pinned settings: the same for every bench of a run. Quick mode also sizes the benches
// that take their size from their own variables; the compile cache shortens child start-up.
const env: NodeJS.ProcessEnv = {
  ...process.env,
  NODE_COMPILE_CACHE: process.env.NODE_COMPILE_CACHE ?? join(tmpdir(), 'dauth-bench-compile-cache'),
  ...(QUICK && process.env.BENCH_N === undefined ? { BENCH_N: '800' } : {}),
}

const runs: BenchRun[] = []
for (const bench of benches) {
  const name = `${bench.packageName.replace(/^@/, '').replace(/\//g, '-')}-${bench.relativeFile.replace(/^.*\//, '').replace(/\.bench\.ts$/, '')}`
  const jsonOut = join(resultsDir, `${name}.json`)
  rmSync(jsonOut, { force: true })
  console.log(`\n=== ${bench.packageName} ${bench.relativeFile} ===`)
  runs.push(await runBench(bench, { jsonOut, env, timeoutMs, echo: true }))
}

const loadAverageAfter = loadavg().map((x) => round(x)) as [number, number, number]
const sourceOf = (r: BenchRun): string => `${r.bench.packageName} ${r.bench.relativeFile}`
const json = new Map(runs.flatMap((r) => (r.json === undefined ? [] : [[sourceOf(r), r.json]])))
const rsRun = runs.find((r) => r.bench.relativeFile === 'src/rs.bench.ts')
const rs = rsRun?.json as RsBenchResult | undefined
const exchangeRun = runs.find((r) => r.bench.relativeFile === 'src/exchange.bench.ts')
const exchange = exchangeRun?.json as ExchangeBenchResult | undefined
const aims = evaluateAims(json)
const headline = headlines(json)
const failed = runs.filter((r) => r.exitCode !== 0)
const command = `${QUICK ? 'BENCH_QUICK=1 ' : ''}pnpm bench`

const report = {
  version: 1,
  generatedAt: new Date().toISOString(),
  command,
  quick: QUICK,
  seconds: round((performance.now() - started) / 1000, 1),
  machine,
  loadAverageAfter,
  note: 'Figures from a shared machine: compare ratios measured in the same run, not absolute numbers across runs.',
  benches: runs.map((r) => ({
    package: r.bench.packageName,
    file: r.bench.relativeFile,
    exitCode: r.exitCode,
    timedOut: r.timedOut,
    seconds: round(r.seconds, 1),
    jsonSource: r.jsonSource,
    ...(r.jsonFile ? { jsonFile: r.jsonFile } : {}),
    ...(r.json !== undefined ? { result: r.json } : {}),
    stdout: r.stdout,
    ...(r.exitCode !== 0 ? { stderr: r.stderr.slice(-4000) } : {}),
  })),
  headlines: headline,
  aims,
}
writeFileSync(join(outDir, 'report.json'), `${JSON.stringify(report, null, 2)}\n`)

const md: string[] = [
  `# Benchmark report${QUICK ? ' (BENCH_QUICK=1 smoke run — figures not meaningful)' : ''}`,
  '',
  `Generated ${report.generatedAt} by \`${command}\` in ${report.seconds} s.`,
  '',
  '## Machine',
  '',
  renderMachine(machine, loadAverageAfter),
  '',
  `> ${report.note}`,
  '',
  '## Summary',
  '',
  '| package | bench | exit | seconds | JSON |',
  '|---|---|---:|---:|---|',
  ...runs.map(
    (r) =>
      `| ${r.bench.packageName} | ${r.bench.relativeFile} | ${r.timedOut ? 'timeout' : String(r.exitCode)} | ${round(r.seconds, 1)} | ${r.jsonSource} |`,
  ),
  '',
]
if (headline.length > 0) {
  md.push(
    '## Headline: each figure beside its same-run baseline (medians over repeats)',
    '',
    '| figure | value | baseline (same run) | ratio | bench |',
    '|---|---:|---|---:|---|',
    ...headline.map(
      (h) => `| ${h.figure} | ${h.value} | ${h.baseline} | ${h.ratio} | ${h.source} |`,
    ),
    '',
  )
}
const busiest = Math.max(...machine.loadAverage, ...loadAverageAfter)
md.push(
  '## Aims (issue 8)',
  '',
  ...(busiest > machine.cores
    ? [
        `> The load average reached ${busiest} on ${machine.cores} cores during this run: more runnable processes than cores, so every figure includes queueing behind other work and req/s ratios move with it; the server CPU per request in the resource-server and exchange tables is less sensitive.`,
        '',
      ]
    : []),
  ...aims.map(renderSuiteAim),
  '',
)
const missed = aims.filter((a) => a.met === false)
md.push(
  '## Closing note',
  '',
  missed.length === 0
    ? aims.some((a) => a.met === null)
      ? 'Every measured aim was met; aims marked "not measured" need their bench fixed first.'
      : 'Every aim was met in this run.'
    : 'What would close each missed aim:',
  '',
  ...missed.map((a) => `- ${a.aim}: ${a.close ?? ''}`),
  '',
)
if (rs) {
  md.push(
    '## Resource server and scale (tools/bench/src/rs.bench.ts)',
    '',
    renderRsMarkdown(rs),
    '',
  )
}
if (exchange) {
  md.push(
    '## Authorization server token exchange (tools/bench/src/exchange.bench.ts)',
    '',
    renderExchangeMarkdown(exchange),
    '',
  )
}
for (const r of runs) {
  if ((r === rsRun && rs) || (r === exchangeRun && exchange)) continue
  md.push(`## ${r.bench.packageName} — ${r.bench.relativeFile}`, '')
  if (r.exitCode !== 0) {
    md.push(
      `**failed** (exit ${String(r.exitCode)}${r.timedOut ? ', timed out' : ''})`,
      '',
      '```',
      r.stderr.trim().split('\n').slice(-30).join('\n'),
      '```',
      '',
    )
  }
  if (r.json !== undefined) {
    md.push(
      `Figures (${r.jsonSource}${r.jsonFile ? `: ${r.jsonFile.replace(`${root}/`, '')}` : ''}):`,
      '',
      '| figure | value |',
      '|---|---|',
    )
    for (const [key, value] of flattenJson(r.json))
      md.push(`| ${key} | ${value.replace(/\|/g, '\\|')} |`)
    md.push('')
  }
  md.push(
    r.json === undefined ? 'Output (no JSON written; verbatim):' : 'Output:',
    '',
    '```',
    r.stdout.trimEnd(),
    '```',
    '',
  )
}
writeFileSync(join(outDir, 'report.md'), `${md.join('\n')}\n`)
console.log(`\nReport: ${join(outDir, 'report.md')} and report.json (${report.seconds} s)`)
if (failed.length > 0) {
  console.error(
    `Failed: ${failed.map((r) => `${r.bench.packageName} ${r.bench.relativeFile}`).join(', ')}`,
  )
  process.exitCode = 1
}
