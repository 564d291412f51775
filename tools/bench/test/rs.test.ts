import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { test } from 'node:test'
import type { RsBenchResult } from '../src/index.ts'

const script = resolve(import.meta.dirname, '..', 'src', 'rs.bench.ts')

test('the RS bench in quick mode writes a report with A, B, C, ratios, curve and instances', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'dauth-bench-rs-'))
  try {
    const out = join(dir, 'rs.json')
    const child = spawn(process.execPath, [script], {
      env: {
        ...process.env,
        BENCH_QUICK: '1',
        BENCH_JSON_OUT: out,
        BENCH_RS_CONNECTIONS: '4',
        BENCH_RS_COUNT: '40',
        BENCH_RS_WARMUP: '20',
        BENCH_RS_REPEATS: '3',
        BENCH_RS_CURVE: '1,4',
        BENCH_RS_CURVE_COUNT: '20',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stderr = ''
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')))
    child.stdout.resume()
    const code = await new Promise<number | null>((done) => child.on('close', done))
    assert.equal(code, 0, stderr)

    const result = JSON.parse(readFileSync(out, 'utf8')) as RsBenchResult
    assert.equal(result.name, 'rs')
    assert.equal(result.version, 1)
    assert.equal(result.quick, true)
    assert.equal(result.errors, 0, result.firstError)
    assert.deepEqual(result.config, {
      connections: 4,
      count: 40,
      warmup: 20,
      repeats: 3,
      curve: [1, 4],
      curveCount: 20,
      responseMode: 'json',
    })
    for (const id of ['A', 'B', 'C'] as const) {
      const variant = result.variants[id]
      assert.equal(variant.runs.length, 3, id)
      for (const run of variant.runs) {
        assert.equal(run.count, 40)
        assert.equal(run.errors, 0)
        assert.ok(run.rps > 0, `${id} req/s`)
        assert.ok(run.p99_ms >= run.p50_ms)
      }
      assert.ok(variant.rps.median > 0, `${id} median req/s`)
      assert.ok(variant.rps.min <= variant.rps.median && variant.rps.median <= variant.rps.max)
    }
    for (const key of ['A_over_B_rps', 'A_over_C_rps', 'A_over_B_p99', 'A_over_C_p99'] as const) {
      assert.ok(result.ratios[key].median > 0, key)
    }
    assert.deepEqual(
      result.aims.map((a) => [a.aim, a.targetPercent]),
      [
        ['A/B req/s ≥ 70 %', 70],
        ['A/C req/s ≥ 100 %', 100],
      ],
    )
    assert.equal(
      result.aims[0]?.actualPercent,
      Math.round(result.ratios.A_over_B_rps.median * 1000) / 10,
    )
    assert.deepEqual(
      result.curve.map((p) => [p.connections, p.count, p.errors]),
      [
        [1, 20],
        [4, 20],
      ].map(([c, n]) => [c, n, 0]),
    )
    assert.ok(result.instances.one.rps.median > 0)
    assert.ok(result.instances.two.rps.median > 0)
    assert.equal(result.machine.node, process.version)
    assert.equal(result.loadAverageAfter.length, 3)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})
