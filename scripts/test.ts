// Runs the whole suite (lint, typecheck and every package's tests through turbo) and closes
// with one plain line, "N passed, N failed", summed over every package's node:test report,
// so that CI and people read one total instead of a page of per-package footers.
import { spawn } from 'node:child_process'

const tasks = process.argv.slice(2)
const args = [
  'run',
  ...(tasks.length > 0 ? tasks : ['lint', 'typecheck', 'test']),
  '--concurrency=2',
]
const child = spawn('turbo', args, {
  stdio: ['ignore', 'pipe', 'inherit'],
  env: { ...process.env, TURBO_TELEMETRY_DISABLED: '1', FORCE_COLOR: '0' },
})

let passed = 0
let failed = 0
let buffered = ''
child.stdout.setEncoding('utf8')
child.stdout.on('data', (chunk: string) => {
  process.stdout.write(chunk)
  buffered += chunk
  const lines = buffered.split('\n')
  buffered = lines.pop() ?? ''
  for (const line of lines) {
    // node:test's spec reporter closes each run with "ℹ pass N" and "ℹ fail N".
    const match = /ℹ (pass|fail) (\d+)\s*$/.exec(line)
    if (match?.[1] === 'pass') passed += Number(match[2])
    if (match?.[1] === 'fail') failed += Number(match[2])
  }
})
child.on('close', (code) => {
  process.stdout.write(`\n${passed} passed, ${failed} failed\n`)
  process.exit(code ?? 1)
})
