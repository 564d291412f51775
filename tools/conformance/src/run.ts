/**
 * `pnpm conformance` — runs the MCP conformance suite for every role in ROLE_PLANS, one
 * scenario per suite process (low parallelism: the suite's own `--requirements` mode starts
 * every scenario at once, which times out on small machines), reads each scenario's
 * `checks.json`, prints a summary, writes docs/conformance.md and exits 1 on any failure or
 * warning.
 *
 * Options: --role <role> (repeatable), --scenario <name> (repeatable filter), --concurrency <n>
 * (default 2), --timeout <ms> per scenario (default 120000), --out <dir> (suite output;
 * default a temp dir), --no-write (do not touch docs/conformance.md; a filtered run never does).
 *
 * Roles: client (packages/sdk-client via its conformance entry), server (apps/conformance-server
 * on a free port), authorization-server (apps/as in the real stack; Chromium signs in through
 * the real login and consent pages when the suite prints its authorization URL).
 */
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { expandPlan, ROLE_PLANS, type ExcludedScenario, type PlannedScenario } from './plan.ts'
import {
  loadRequirementSet,
  locateSuite,
  repositoryRoot,
  type RequirementSet,
  type Role,
} from './requirements.ts'
import { readChecks, renderReport, summarize, totals, type ScenarioResult } from './results.ts'
import { ROLE_TARGETS, type RoleTarget, SUITE_COMMAND } from './targets.ts'

const { values } = parseArgs({
  options: {
    role: { type: 'string', multiple: true },
    scenario: { type: 'string', multiple: true },
    concurrency: { type: 'string', default: '2' },
    timeout: { type: 'string', default: '120000' },
    out: { type: 'string' },
    'no-write': { type: 'boolean', default: false },
  },
})

const root = repositoryRoot()
const concurrency = Math.max(1, Number.parseInt(values.concurrency, 10) || 1)
const timeoutMs = Math.max(1000, Number.parseInt(values.timeout, 10) || 120000)

/**
 * Runs one suite process for a batch: one scenario, or all of a role's scenarios at once
 * where the suite chains them (the AS code-grant scenario reads the metadata scenario's result).
 */
async function runSuite(
  bin: string,
  batch: readonly PlannedScenario[],
  target: RoleTarget,
  dir: string,
): Promise<{ exitCode: number; output: string }> {
  const planned = batch[0]!
  const { command, perScenarioOptions, chained } = SUITE_COMMAND[planned.role]
  let args: string[]
  try {
    args = [bin, command, ...(await target.args(planned)), '-o', dir]
    // A chained role always runs whole: a later scenario needs the earlier ones' results.
    if (!chained) args.push('--scenario', planned.scenario)
  } catch (error) {
    return { exitCode: 1, output: `could not prepare the scenario: ${String(error)}` }
  }
  if (perScenarioOptions) {
    args.push('--timeout', String(timeoutMs))
    if (planned.specVersion !== undefined)
      args.push('--spec-version', planned.specVersion, '--force')
  }
  const child = spawn(process.execPath, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()))
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()))
  const attended = target.attend?.(child, planned).then(
    () => undefined,
    (error: unknown) => {
      // The suite waits for a browser that will not come: stop it, record why.
      child.kill('SIGTERM')
      return error instanceof Error ? error.message : String(error)
    },
  )
  // The suite enforces --timeout on the client; this only guards against a hung suite.
  const guard = setTimeout(() => child.kill('SIGKILL'), timeoutMs + 60_000)
  const [code] = (await once(child, 'close')) as [number | null]
  clearTimeout(guard)
  const attendError = await attended
  if (attendError !== undefined) {
    return { exitCode: 1, output: `${output}\nthe attendant failed: ${attendError}` }
  }
  return { exitCode: code ?? 1, output }
}

async function main(): Promise<number> {
  const started = performance.now()
  const suite = await locateSuite()
  const outRoot = values.out ?? (await mkdtemp(join(tmpdir(), 'dauth-conformance-')))
  const roles = new Set<Role>((values.role as Role[] | undefined) ?? ROLE_PLANS.map((p) => p.role))
  const only = values.scenario !== undefined ? new Set(values.scenario) : undefined

  const planned: PlannedScenario[] = []
  const excluded: ExcludedScenario[] = []
  for (const plan of ROLE_PLANS.filter((p) => roles.has(p.role))) {
    const sets = new Map<string, RequirementSet>()
    for (const revision of plan.requirementSets) {
      sets.set(revision, await loadRequirementSet(suite.root, revision, plan.role))
    }
    const expanded = expandPlan(plan, sets)
    planned.push(...expanded.scenarios.filter((s) => only === undefined || only.has(s.scenario)))
    excluded.push(...expanded.excluded)
  }
  console.log(
    `@modelcontextprotocol/conformance@${suite.version}: ${planned.length} scenarios, concurrency ${concurrency}, output in ${outRoot}`,
  )

  const targets = new Map<Role, RoleTarget>()
  for (const role of new Set(planned.map((p) => p.role))) {
    const make = ROLE_TARGETS[role]
    if (make === undefined) throw new Error(`No target for the ${role} role yet`)
    targets.set(role, await make(root))
  }

  // One suite process per scenario, except for roles whose scenarios the suite chains.
  const batches: PlannedScenario[][] = []
  for (const item of planned) {
    const last = batches.at(-1)
    if (SUITE_COMMAND[item.role].chained && last?.[0]?.role === item.role) last.push(item)
    else batches.push([item])
  }
  const results: ScenarioResult[] = new Array<ScenarioResult>(planned.length)
  let next = 0
  const worker = async (): Promise<void> => {
    for (;;) {
      const index = next++
      const batch = batches[index]
      if (batch === undefined) return
      const dir = join(outRoot, String(index).padStart(3, '0'))
      await mkdir(dir, { recursive: true })
      const t0 = performance.now()
      const { exitCode, output } = await runSuite(
        suite.bin,
        batch,
        targets.get(batch[0]!.role)!,
        dir,
      )
      await writeFile(join(dir, 'suite-output.txt'), output)
      const seconds = (performance.now() - t0) / 1000
      for (const item of batch) {
        const checks =
          (await readChecks(dir, SUITE_COMMAND[item.role].chained ? item.scenario : undefined)) ??
          []
        const result = summarize(item, checks, exitCode, seconds)
        results[planned.indexOf(item)] = result
        const mark =
          result.outcome === 'pass' ? 'ok  ' : result.outcome === 'warn' ? 'WARN' : 'FAIL'
        console.log(
          `${mark} ${item.role} ${item.set} ${item.scenario}: ${result.passed} passed, ${result.failed} failed, ${result.warnings} warnings (${result.seconds.toFixed(1)} s)`,
        )
        for (const problem of result.problems) console.log(`       ${problem.slice(0, 300)}`)
        if (result.outcome === 'fail' && checks.length === 0) {
          // No checks at all: the suite's own last words say why (timeout, bad arguments…).
          for (const line of output.trim().split('\n').slice(-5)) console.log(`       | ${line}`)
        }
      }
    }
  }
  try {
    await Promise.all(Array.from({ length: concurrency }, worker))
  } finally {
    for (const target of targets.values()) await target.close()
  }

  const seconds = (performance.now() - started) / 1000
  const t = totals(results)
  for (const e of excluded) console.log(`skip ${e.role} ${e.set} ${e.scenario}: ${e.reason}`)
  console.log(
    `\n${t.passedScenarios}/${t.scenarios} scenarios pass; ${t.checksPassed} checks passed, ${t.checksFailed} failed, ${t.warnings} warnings; ${seconds.toFixed(0)} s`,
  )
  // Only a full run (every role, every scenario) may rewrite the report.
  if (!values['no-write'] && only === undefined && values.role === undefined) {
    const report = renderReport({
      suiteVersion: suite.version,
      generatedAt: new Date().toISOString().slice(0, 10),
      command: 'pnpm conformance',
      seconds,
      results,
      excluded,
    })
    await mkdir(join(root, 'docs'), { recursive: true })
    await writeFile(join(root, 'docs', 'conformance.md'), report)
    console.log('wrote docs/conformance.md')
  }
  // Closing line in the form CI reads: scenarios passed / failed (a warning counts as failed).
  console.log(`conformance: ${t.passedScenarios} passed, ${t.failedScenarios} failed`)
  return t.failedScenarios === 0 ? 0 : 1
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error instanceof Error ? (error.stack ?? error.message) : String(error))
    process.exit(2)
  },
)
