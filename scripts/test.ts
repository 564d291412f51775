// Runs the whole suite — lint, typecheck and every package's tests through turbo, then the
// MCP conformance suite in its three roles — and closes with one plain line,
// "N passed, N failed", summed over every package's node:test report and every conformance
// scenario, so that CI and people read one total instead of a page of per-package footers.
//
// `pnpm test` runs everything; `pnpm test test` (or any turbo task names) runs just those
// tasks. DAUTH_SKIP_CONFORMANCE=1 skips the conformance run.
import { spawn } from 'node:child_process'

const tasks = process.argv.slice(2)
const totals = { passed: 0, failed: 0 }

/** Runs a command, echoing its output, and counts the totals lines it prints. */
function run(command: string, args: string[]): Promise<number> {
  const child = spawn(command, args, {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, TURBO_TELEMETRY_DISABLED: '1', FORCE_COLOR: '0' },
  })
  let buffered = ''
  child.stdout.setEncoding('utf8')
  child.stdout.on('data', (chunk: string) => {
    process.stdout.write(chunk)
    buffered += chunk
    const lines = buffered.split('\n')
    buffered = lines.pop() ?? ''
    for (const line of lines) count(line)
  })
  return new Promise((resolve) => child.on('close', (code) => resolve(code ?? 1)))
}

function count(line: string): void {
  // node:test's spec reporter closes each run with "ℹ pass N" and "ℹ fail N".
  const node = /ℹ (pass|fail) (\d+)\s*$/.exec(line)
  if (node?.[1] === 'pass') totals.passed += Number(node[2])
  if (node?.[1] === 'fail') totals.failed += Number(node[2])
  // tools/conformance closes with "conformance: N passed, N failed".
  const conformance = /^conformance: (\d+) passed, (\d+) failed/.exec(line)
  if (conformance) {
    totals.passed += Number(conformance[1])
    totals.failed += Number(conformance[2])
  }
}

const turboTasks = tasks.length > 0 ? tasks : ['lint', 'typecheck', 'test']
// The formatter and the root scripts' own checks first: they take seconds.
let code = tasks.length > 0 ? 0 : await run('biome', ['format', '.'])
if (code === 0 && tasks.length === 0) code = await run('tsc', ['-p', 'tsconfig.json'])
if (code === 0 && tasks.length === 0) code = await run('eslint', ['scripts'])
if (code === 0) code = await run('turbo', ['run', ...turboTasks, '--concurrency=2', '--continue'])
if (tasks.length === 0 && process.env.DAUTH_SKIP_CONFORMANCE !== '1') {
  const conformance = await run(process.execPath, [
    'tools/conformance/src/run.ts',
    // All three roles: client (sdk-client), server (mcp-server), authorization server (apps/as).
    '--no-write',
  ])
  code = code !== 0 ? code : conformance
}
process.stdout.write(`\n${totals.passed} passed, ${totals.failed} failed\n`)
process.exit(code)
