import assert from 'node:assert/strict'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import {
  aimAtLeast,
  discoverBenches,
  flattenJson,
  median,
  percentileSorted,
  runBench,
  spread,
} from '../src/index.ts'

test('median, nearest-rank percentile and spread', () => {
  assert.equal(median([3, 1, 2]), 2)
  assert.equal(median([4, 1, 3, 2]), 2.5)
  assert.ok(Number.isNaN(median([])))
  const sorted = Array.from({ length: 100 }, (_, i) => i + 1)
  assert.equal(percentileSorted(sorted, 50), 50)
  assert.equal(percentileSorted(sorted, 99), 99)
  assert.equal(percentileSorted([7], 99), 7)
  assert.deepEqual(spread([5, 1, 3]), { min: 1, median: 3, max: 5 })
})

test('aimAtLeast reports met/missed and the margin in points', () => {
  assert.deepEqual(aimAtLeast('x', 70, 0.655), {
    aim: 'x',
    targetPercent: 70,
    actualPercent: 65.5,
    met: false,
    marginPoints: -4.5,
  })
  assert.equal(aimAtLeast('y', 100, 1.2).met, true)
  assert.equal(aimAtLeast('y', 100, 1.2).marginPoints, 20)
})

test('flattenJson lists scalar leaves and collapses runs', () => {
  assert.deepEqual(flattenJson({ a: 1, b: { c: 'x', runs: [{ r: 1 }, { r: 2 }] }, d: [1, 2] }), [
    ['a', '1'],
    ['b.c', '"x"'],
    ['b.runs', '[2 items]'],
    ['d', '[1,2]'],
  ])
})

test('discovers package benches and takes JSON from BENCH_JSON_OUT, results files or stdout', async () => {
  const root = mkdtempSync(join(tmpdir(), 'dauth-bench-suite-'))
  try {
    const write = (pkg: string, name: string, body: string): void => {
      mkdirSync(join(root, pkg, 'bench'), { recursive: true })
      writeFileSync(
        join(root, pkg, 'package.json'),
        JSON.stringify({ name: `@t/${pkg.split('/')[1]}` }),
      )
      writeFileSync(join(root, pkg, 'bench', name), body)
    }
    write(
      'packages/one',
      'a.bench.ts',
      `import { writeFileSync } from 'node:fs'
writeFileSync(process.env.BENCH_JSON_OUT ?? '', JSON.stringify({ ops: 5, quick: process.env.BENCH_QUICK }))
console.log('| x |')
`,
    )
    write('packages/one', 'helper.ts', 'export {}\n')
    write(
      'apps/two',
      'b.bench.ts',
      `import { mkdirSync, writeFileSync } from 'node:fs'
mkdirSync('bench/results', { recursive: true })
writeFileSync('bench/results/b.json', JSON.stringify({ rps: 9 }))
`,
    )
    write(
      'apps/three',
      'c.bench.ts',
      "console.log('| table |')\\nconsole.log(JSON.stringify({ us: 3 }))\n".replace('\\n', '\n'),
    )
    write('apps/four', 'd.bench.ts', "console.log('| only a table |')\nprocess.exit(3)\n")

    const benches = discoverBenches(root)
    assert.deepEqual(
      benches.map((b) => [b.packageName, b.relativeFile]),
      [
        ['@t/one', 'bench/a.bench.ts'],
        ['@t/four', 'bench/d.bench.ts'],
        ['@t/three', 'bench/c.bench.ts'],
        ['@t/two', 'bench/b.bench.ts'],
      ],
    )
    const env = { ...process.env, BENCH_QUICK: '1' }
    const run = (i: number) =>
      runBench(benches[i]!, {
        jsonOut: join(root, `out-${i}.json`),
        env,
        timeoutMs: 30_000,
        echo: false,
      })

    const a = await run(0)
    assert.equal(a.exitCode, 0)
    assert.equal(a.jsonSource, 'BENCH_JSON_OUT')
    assert.deepEqual(a.json, { ops: 5, quick: '1' })
    assert.equal(a.stdout, '| x |\n')

    const d = await run(1)
    assert.equal(d.exitCode, 3)
    assert.equal(d.jsonSource, 'none')
    assert.equal(d.stdout, '| only a table |\n')

    const c = await run(2)
    assert.equal(c.jsonSource, 'stdout')
    assert.deepEqual(c.json, { us: 3 })

    const b = await run(3)
    assert.equal(b.jsonSource, 'results-file')
    assert.equal(b.jsonFile, join(root, 'apps/two/bench/results/b.json'))
    assert.deepEqual(b.json, { rps: 9 })
  } finally {
    rmSync(root, { recursive: true, force: true })
  }
})
