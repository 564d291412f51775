import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { test } from 'node:test'

const runScript = resolve(import.meta.dirname, '..', 'src', 'run.ts')

test('run.ts runs every package bench and writes report.md and report.json', async () => {
  const root = mkdtempSync(join(tmpdir(), 'dauth-bench-run-'))
  try {
    mkdirSync(join(root, 'packages', 'p', 'bench'), { recursive: true })
    writeFileSync(join(root, 'packages', 'p', 'package.json'), JSON.stringify({ name: '@t/p' }))
    writeFileSync(
      join(root, 'packages', 'p', 'bench', 'x.bench.ts'),
      "console.log('| impl | ops/s |')\nconsole.log('|---|---:|')\nconsole.log(`| a | ${process.env.BENCH_QUICK} |`)\n",
    )
    mkdirSync(join(root, 'apps', 'q', 'bench'), { recursive: true })
    writeFileSync(join(root, 'apps', 'q', 'package.json'), JSON.stringify({ name: '@t/q' }))
    writeFileSync(
      join(root, 'apps', 'q', 'bench', 'y.bench.ts'),
      "import { writeFileSync } from 'node:fs'\nwriteFileSync(process.env.BENCH_JSON_OUT ?? '', JSON.stringify({ ratio: 0.5, runs: [1, 2] }))\n",
    )
    const child = spawn(process.execPath, [runScript], {
      env: { ...process.env, BENCH_QUICK: '1', BENCH_ROOT: root, BENCH_RS: '0' },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stderr = ''
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')))
    child.stdout.resume()
    const code = await new Promise<number | null>((done) => child.on('close', done))
    assert.equal(code, 0, stderr)

    const report = JSON.parse(readFileSync(join(root, 'bench', 'report.json'), 'utf8'))
    assert.equal(report.quick, true)
    assert.equal(report.command, 'BENCH_QUICK=1 pnpm bench')
    assert.equal(report.machine.node, process.version)
    assert.equal(report.machine.loadAverage.length, 3)
    assert.equal(report.loadAverageAfter.length, 3)
    assert.deepEqual(
      report.benches.map((b: Record<string, unknown>) => [
        b.package,
        b.file,
        b.exitCode,
        b.jsonSource,
      ]),
      [
        ['@t/p', 'bench/x.bench.ts', 0, 'none'],
        ['@t/q', 'bench/y.bench.ts', 0, 'BENCH_JSON_OUT'],
      ],
    )
    assert.deepEqual(report.benches[1].result, { ratio: 0.5, runs: [1, 2] })
    // No bench of the aims ran: each aim is listed as not measured, none as met.
    assert.deepEqual(
      report.aims.map((a: Record<string, unknown>) => [a.id, a.met, a.actual]),
      [
        ['rs-authorized-vs-unauthenticated', null, null],
        ['rs-authorized-vs-official-bearer', null, null],
        ['verify-vs-raw-crypto', null, null],
        ['dispatch-added-p50', null, null],
        ['as-embedded-vs-memory', null, null],
      ],
    )
    assert.deepEqual(report.headlines, [])

    const md = readFileSync(join(root, 'bench', 'report.md'), 'utf8')
    assert.ok(
      md.includes(
        'Output (no JSON written; verbatim):\n\n```\n| impl | ops/s |\n|---|---:|\n| a | 1 |\n```',
      ),
    )
    assert.ok(md.includes('| ratio | 0.5 |'))
    assert.ok(md.includes('| runs | [2 items] |'))
    assert.ok(
      md.includes(
        '- **not measured** — DPoP-bound client-credentials issuance on the embedded store ≥ 80 % of oidc-provider with its memory adapter (@dauth/as bench/issuance.bench.ts wrote no figure)',
      ),
    )
    assert.ok(
      md.includes(
        'Every measured aim was met; aims marked "not measured" need their bench fixed first.',
      ),
    )
  } finally {
    rmSync(root, { recursive: true, force: true })
  }
})
