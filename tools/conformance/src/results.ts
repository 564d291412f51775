import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { ExcludedScenario, PlannedScenario } from './plan.ts'

/** A check as the suite writes it to `checks.json`. */
export interface SuiteCheck {
  readonly id: string
  readonly status: 'SUCCESS' | 'FAILURE' | 'WARNING' | 'SKIPPED' | 'INFO'
  readonly description?: string
  readonly errorMessage?: string
}

export type Outcome = 'pass' | 'fail' | 'warn'

/** One scenario's result, from the suite's own output. */
export interface ScenarioResult extends PlannedScenario {
  readonly outcome: Outcome
  readonly passed: number
  readonly failed: number
  readonly warnings: number
  /** Exit code of the suite for this scenario (non-zero on failure, warning, client error or timeout). */
  readonly exitCode: number
  readonly seconds: number
  /** Failure / warning messages (check id: message), for the console. */
  readonly problems: readonly string[]
}

const STATUSES = new Set(['SUCCESS', 'FAILURE', 'WARNING', 'SKIPPED', 'INFO'])

/** Validates the parsed `checks.json` of one scenario. */
export function parseChecks(value: unknown): SuiteCheck[] {
  if (!Array.isArray(value)) throw new Error('checks.json is not an array')
  return value.map((item: unknown, index) => {
    if (typeof item !== 'object' || item === null)
      throw new Error(`check ${index} is not an object`)
    const check = item as Record<string, unknown>
    if (
      typeof check.id !== 'string' ||
      typeof check.status !== 'string' ||
      !STATUSES.has(check.status)
    ) {
      throw new Error(`check ${index} has no id or a status the runner does not know`)
    }
    return check as unknown as SuiteCheck
  })
}

/**
 * Classifies a scenario the way the suite does: checks counted (SUCCESS / FAILURE / WARNING),
 * `fail` on any failure or a non-zero suite exit without warnings (client error, timeout),
 * `warn` on warnings only, else `pass`.
 */
export function summarize(
  planned: PlannedScenario,
  checks: readonly SuiteCheck[],
  exitCode: number,
  seconds: number,
): ScenarioResult {
  const passed = checks.filter((c) => c.status === 'SUCCESS').length
  const failed = checks.filter((c) => c.status === 'FAILURE').length
  const warnings = checks.filter((c) => c.status === 'WARNING').length
  const outcome: Outcome =
    failed > 0 || (exitCode !== 0 && warnings === 0) ? 'fail' : warnings > 0 ? 'warn' : 'pass'
  const problems = checks
    .filter((c) => c.status === 'FAILURE' || c.status === 'WARNING')
    .map((c) => `${c.status} ${c.id}: ${c.errorMessage ?? c.description ?? ''}`)
  if (exitCode !== 0 && problems.length === 0) {
    problems.push(`the suite exited with ${exitCode} (client error or timeout)`)
  }
  return { ...planned, outcome, passed, failed, warnings, exitCode, seconds, problems }
}

/**
 * Reads the `checks.json` the suite wrote under `dir` (scenario names may contain `/`): the
 * only one, or, when one suite process ran several scenarios, the one in the folder the suite
 * named after `scenario` (`<role>-<scenario>-<timestamp>`).
 */
export async function readChecks(
  dir: string,
  scenario?: string,
): Promise<SuiteCheck[] | undefined> {
  let entries
  try {
    entries = await readdir(dir, { recursive: true })
  } catch {
    return undefined
  }
  const file = entries.find(
    (e) =>
      (e === 'checks.json' || e.endsWith('/checks.json')) &&
      (scenario === undefined || (/-\d{4}-\d\d-\d\dT/.test(e) && e.includes(`-${scenario}-`))),
  )
  if (file === undefined) return undefined
  return parseChecks(JSON.parse(await readFile(join(dir, file), 'utf8')))
}

/** Totals over many results. */
export function totals(results: readonly ScenarioResult[]): {
  scenarios: number
  passedScenarios: number
  failedScenarios: number
  checksPassed: number
  checksFailed: number
  warnings: number
} {
  return {
    scenarios: results.length,
    passedScenarios: results.filter((r) => r.outcome === 'pass').length,
    failedScenarios: results.filter((r) => r.outcome !== 'pass').length,
    checksPassed: results.reduce((n, r) => n + r.passed, 0),
    checksFailed: results.reduce((n, r) => n + r.failed, 0),
    warnings: results.reduce((n, r) => n + r.warnings, 0),
  }
}

/** A Markdown table with padded columns (the layout the repository's formatter keeps). */
export function markdownTable(
  header: readonly string[],
  rows: readonly (readonly string[])[],
): string[] {
  const widths = header.map((h, i) =>
    Math.max(3, h.length, ...rows.map((r) => (r[i] ?? '').length)),
  )
  const line = (cells: readonly string[]): string =>
    `| ${widths.map((w, i) => (cells[i] ?? '').padEnd(w)).join(' | ')} |`
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)]
}

const OUTCOME_TEXT: Record<Outcome, string> = { pass: 'pass', fail: '**FAIL**', warn: '**WARN**' }

/** `docs/conformance.md`: one row per scenario, regenerated from the suite's output. */
export function renderReport(input: {
  suiteVersion: string
  generatedAt: string
  command: string
  seconds: number
  results: readonly ScenarioResult[]
  excluded: readonly ExcludedScenario[]
}): string {
  const t = totals(input.results)
  const lines = [
    '# MCP conformance',
    '',
    `Generated by \`${input.command}\` (tools/conformance) from the output of`,
    `\`@modelcontextprotocol/conformance@${input.suiteVersion}\` on ${input.generatedAt};`,
    `full run: ${Math.round(input.seconds)} s. Do not edit by hand.`,
    '',
    `**${t.passedScenarios}/${t.scenarios} scenarios pass** — ${t.checksPassed} checks passed, ${t.checksFailed} failed, ${t.warnings} warnings.`,
    '',
    'Each requirement set is run at its own wire revision (`--spec-version <set> --force`, as',
    '`--requirements` does), each scenario in its own suite process. Not-scored scenarios of a set',
    'are run too and must pass; extensions (at the suite’s default wire) and the 2025-03-26',
    'back-compat scenarios run in their own groups.',
    '',
  ]
  lines.push(
    ...markdownTable(
      ['Role', 'Requirement set', 'Scenario', 'Result', 'Checks passed', 'Warnings'],
      input.results.map((r) => [
        r.role,
        r.notScored !== undefined ? `${r.set} (not scored: ${r.notScored})` : r.set,
        `\`${r.scenario}\``,
        OUTCOME_TEXT[r.outcome],
        `${r.passed}/${r.passed + r.failed}`,
        String(r.warnings),
      ]),
    ),
  )
  if (input.excluded.length > 0) {
    lines.push(
      '',
      '## Not run',
      '',
      ...markdownTable(
        ['Role', 'Set', 'Scenario', 'Why'],
        input.excluded.map((e) => [e.role, e.set, `\`${e.scenario}\``, e.reason]),
      ),
    )
  }
  return `${lines.join('\n')}\n`
}
