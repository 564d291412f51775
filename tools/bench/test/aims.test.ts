import assert from 'node:assert/strict'
import { test } from 'node:test'
import { evaluateAims, headlines, renderSuiteAim, SOURCES } from '../src/index.ts'

const s = (median: number) => ({ min: median, median, max: median })

function rs(aOverB: number, aOverC: number) {
  const variant = (rps: number, cpu: number) => ({
    rps: s(rps),
    p50_ms: s(1),
    p99_ms: s(2),
    server_cpu_us_per_req: s(cpu),
  })
  return {
    variants: { A: variant(700, 500), B: variant(1000, 300), C: variant(900, 400) },
    ratios: { A_over_B_rps: s(aOverB), A_over_C_rps: s(aOverC) },
    instances: { one: { rps: s(800) }, two: { rps: s(1200) }, two_over_one_rps: s(1.5) },
    curve: [
      { connections: 1, p99_ms: s(2) },
      { connections: 256, p99_ms: s(50) },
    ],
  }
}

test('aims: met, missed by how much with why and close lines, from each bench JSON', () => {
  const json = new Map<string, unknown>([
    [SOURCES.rs, rs(0.7, 0.8)],
    [
      SOURCES.verify,
      {
        baseline_two_es256_verifies_us: 100,
        authorize_fresh_token_us: 180,
        ratio_fresh_token: 1.8,
        authorize_repeated_token_us: 90,
        ratio_repeated_token: 0.9,
        cpu_ratio_fresh_token: 1.7,
        in_place_authorize_fresh_token_us: 160,
        in_place_ratio_fresh_token: 1.6,
        in_place_ratio_repeated_token: 0.8,
      },
    ],
    [
      SOURCES.dispatch,
      {
        direct: { median: { p50_ms: 1 } },
        enclave: { median: { p50_ms: 2.5 } },
        ratios: { added_p50_ms: 1.5 },
        cpus: 2,
      },
    ],
    [
      SOURCES.issuance,
      {
        targets: { embedded: { rps: s(600) }, memory: { rps: s(1000) }, postgres: { rps: s(500) } },
        ratios: { embeddedToMemory: 0.6, postgresToMemory: 0.5 },
      },
    ],
  ])
  const aims = evaluateAims(json)
  assert.deepEqual(
    aims.map((a) => [a.id, a.actual, a.met, a.margin]),
    [
      ['rs-authorized-vs-unauthenticated', 70, true, 0],
      ['rs-authorized-vs-official-bearer', 80, false, -20],
      ['verify-vs-raw-crypto', 1.8, false, -0.3],
      ['dispatch-added-p50', 1.5, true, 0.5],
      ['as-embedded-vs-memory', 60, false, -20],
    ],
  )
  assert.equal(aims[0]?.why, undefined)
  assert.match(aims[1]?.why ?? '', /server CPU per request 500 µs \(A\) vs 400 µs \(C\)/)
  assert.match(
    aims[1]?.close ?? '',
    /about 100 µs less CPU per request \(one ES256 verify costs about 50 µs here\)/,
  )
  assert.match(
    aims[2]?.why ?? '',
    /takes 80 µs longer than two raw verifies in a row \(180 vs 100 µs\).*1.7× the floor; checked in place \(offloadSignatures: false\) it takes 160 µs = 1.6×/,
  )
  assert.match(aims[4]?.why ?? '', /^600 vs 1,000 req\/s/)
  assert.match(aims[4]?.close ?? '', /^200 req\/s more/)
  assert.equal(
    renderSuiteAim(aims[4]!).split('\n')[0],
    '- **missed** — DPoP-bound client-credentials issuance on the embedded store ≥ 80 % of oidc-provider with its memory adapter: 60 % (aim ≥ 80 %; missed by 20 points)',
  )
  assert.equal(
    renderSuiteAim(aims[3]!),
    '- **met** — dispatch through the enclave adds ≤ 2 ms p50 over a direct HTTPS call to the same upstream: 1.5 ms (aim ≤ 2 ms; 0.5 ms to spare)',
  )

  const rows = headlines(json)
  assert.deepEqual(
    rows.map((r) => [r.figure, r.ratio]),
    [
      ['RS authorized tools/call (A) req/s', '70.0 %'],
      ['RS authorized tools/call (A) req/s', '80.0 %'],
      ['two example-mcp instances req/s', '1.50×'],
      ['example-mcp p99 at 256 connections (ms)', '25.00×'],
      ['authorize() µs per request (fresh token)', '1.80×'],
      ['authorize() µs per request (fresh token, offloadSignatures: false)', '1.60×'],
      ['tool call dispatched through the enclave, p50 ms', '+1.5 ms'],
      ['AS client-credentials issuance req/s, embedded store', '60.0 %'],
      ['AS client-credentials issuance req/s, PostgreSQL + Redis', '50.0 %'],
    ],
  )
})

test('aims: a bench without JSON leaves its aim not measured', () => {
  const aims = evaluateAims(new Map([[SOURCES.rs, rs(0.9, 1.1)]]))
  assert.deepEqual(
    aims.map((a) => a.met),
    [true, true, null, null, null],
  )
  assert.equal(
    renderSuiteAim(aims[2]!),
    '- **not measured** — per-request verification (token + DPoP proof, fresh token) within 1.5× of two raw node:crypto ES256 verifies (@dauth/mcp-server bench/verify.bench.ts wrote no figure)',
  )
})
