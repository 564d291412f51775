// Added cost of the enclave on one upstream call, measured in the same run:
//   (a) direct HTTPS GET https://localhost:<port>/user (Bearer credential, keep-alive, test CA)
//   (b) the same request through POST /dispatch of a real launcher + worker (src/main.ts as a
//       child process), with the stub AS of the tests serving discovery, JWKS, the enclave's
//       client token and the envelope records.
// Fixed concurrency, fixed request count per run, warm-up, 3 repeats (interleaved a/b), then
// the same pair one request at a time (`serial`: the added latency without queueing).
// Aims (issue): ≤ 2 ms added at p50, ≥ 50 % of direct throughput. Reported: the added p50
// at concurrency 1 and at concurrency 8, the throughput ratio at concurrency 8, the CPU per
// request of every process on both paths, the crypto floor of a dispatch (bench/floors.ts)
// and the throughput ratios that the CPU per request and that floor allow (README).
// Run: pnpm --filter @dauth/enclave bench      (BENCH_QUICK=1 for a ~5 s smoke)
// Writes bench/results/enclave-dispatch.json (and BENCH_JSON_OUT when set, as `pnpm bench`
// does) and prints a table.
import { fork } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { cpus, loadavg, tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { performance } from 'node:perf_hooks'
import { Agent, request } from 'undici'
import { createDpopProof } from '@dauth/protocol'
import { addConnection, attestedKey, dispatchToken, makeCaller } from '../test/fixtures/client.ts'
import { spawnEnclave } from '../test/fixtures/enclaveProcess.ts'
import { makeTestPki } from '../test/fixtures/pki.ts'
import type { StoredRecord, StubAs } from '../test/fixtures/stubAs.ts'
import { measureCryptoFloors } from './floors.ts'
import type { FromPeers, ToPeers } from './peers.ts'

const QUICK = process.env.BENCH_QUICK === '1'
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 8)
const COUNT = Number(process.env.BENCH_COUNT ?? (QUICK ? 150 : 3000))
const WARMUP = Number(process.env.BENCH_WARMUP ?? (QUICK ? 50 : 500))
const REPEATS = Number(process.env.BENCH_REPEATS ?? 3)
const SERIAL_COUNT = Number(process.env.BENCH_SERIAL_COUNT ?? (QUICK ? 50 : 300))
const AIM_ADDED_P50_MS = 2
const AIM_THROUGHPUT_PCT = 50
const RESULTS = resolve(import.meta.dirname, 'results', 'enclave-dispatch.json')
// BENCH_CPU_PROF=<dir>: V8 CPU profiles of the launcher and of the peers process, written
// when they exit (the worker runs under --permission, where --cpu-prof writes nothing).
const PROFILE_DIR = process.env.BENCH_CPU_PROF ? resolve(process.env.BENCH_CPU_PROF) : undefined
const PROFILE_ARGS = PROFILE_DIR ? ['--cpu-prof', `--cpu-prof-dir=${PROFILE_DIR}`] : []

interface RunStats {
  count: number
  seconds: number
  rps: number
  p50_ms: number
  p99_ms: number
  mean_ms: number
}

/** CPU seconds (user + system) of a process from /proc (Linux); NaN elsewhere. */
function cpuSeconds(pid: number | undefined): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return (Number(fields[11]) + Number(fields[12])) / 100
  } catch {
    return Number.NaN
  }
}

function childPids(pid: number | undefined): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8')
      .trim()
      .split(/\s+/)
      .filter(Boolean)
      .map(Number)
  } catch {
    return []
  }
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))
  return sorted[i] ?? Number.NaN
}

function round(n: number, digits = 3): number {
  const f = 10 ** digits
  return Math.round(n * f) / f
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b)
  const mid = Math.floor(s.length / 2)
  return s.length % 2 ? (s[mid] ?? Number.NaN) : ((s[mid - 1] ?? 0) + (s[mid] ?? 0)) / 2
}

/** Runs `count` calls of `one(i)` with `concurrency` in flight; latency of each call only. */
async function run(
  count: number,
  one: (i: number) => Promise<void>,
  concurrency = CONCURRENCY,
): Promise<RunStats> {
  const latencies: number[] = []
  let next = 0
  const started = performance.now()
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (let i = next++; i < count; i = next++) {
        const t0 = performance.now()
        await one(i)
        latencies.push(performance.now() - t0)
      }
    }),
  )
  const seconds = (performance.now() - started) / 1000
  latencies.sort((a, b) => a - b)
  return {
    count,
    seconds: round(seconds),
    rps: round(count / seconds, 1),
    p50_ms: round(percentile(latencies, 50)),
    p99_ms: round(percentile(latencies, 99)),
    mean_ms: round(latencies.reduce((a, b) => a + b, 0) / latencies.length),
  }
}

const loadAtStart = loadavg().map((x) => round(x, 2))
// before any other process of the bench runs
const floors = measureCryptoFloors(QUICK ? 300 : 2000)
const dir = mkdtempSync(join(tmpdir(), 'enclave-bench-'))
const pki = makeTestPki(dir)
// upstream + stub AS in their own process (bench/peers.ts)
const peers = fork(resolve(import.meta.dirname, 'peers.ts'), [dir], {
  stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  execArgv: [...process.execArgv, ...PROFILE_ARGS],
})
const ready = await new Promise<Extract<FromPeers, { type: 'ready' }>>((ok, fail) => {
  peers.once('message', (m: FromPeers) => (m.type === 'ready' ? ok(m) : fail(new Error('peers'))))
  peers.once('exit', () => fail(new Error('peers exited')))
})
let signId = 0
const signed = new Map<number, (token: string) => void>()
peers.on('message', (m: FromPeers) => {
  if (m.type === 'signed') signed.get(m.id)?.(m.token)
})
/** The stub AS seen through the IPC channel (what test/fixtures/client.ts needs of it). */
class ForwardingRecords extends Map<string, StoredRecord> {
  override set(handle: string, record: StoredRecord): this {
    peers.send({ type: 'record', record } satisfies ToPeers)
    return super.set(handle, record)
  }
}
const as: StubAs = {
  issuer: ready.issuer,
  records: new ForwardingRecords(),
  counts: { jwks: 0, token: 0, envelopes: 0, connections: 0 },
  signToken: (claims) =>
    new Promise((ok) => {
      const id = ++signId
      signed.set(id, ok)
      peers.send({ type: 'sign', id, claims } satisfies ToPeers)
    }),
  close: async () => {
    peers.disconnect()
    await new Promise((r) => peers.once('exit', r))
  },
}
const upstream = { host: ready.upstreamHost }
const stateDir = join(dir, 'state')
const keyFile = join(dir, 'enclave.jwk.json')
writeFileSync(keyFile, JSON.stringify(ready.clientJwk), { mode: 0o600 })
const enclave = await spawnEnclave(
  {
    DAUTH_STATE_DIR: stateDir,
    DAUTH_ISSUER: as.issuer,
    DAUTH_ENCLAVE_CLIENT_KEY_FILE: keyFile,
    DAUTH_ENCLAVE_DEV_UPSTREAMS: '1',
    DAUTH_ENCLAVE_EXTRA_CA: pki.caFile,
  },
  { keepOutput: false, nodeArgs: PROFILE_ARGS },
)

const SECRET = `bench_${randomBytes(24).toString('base64url')}`
const caller = await makeCaller(as, enclave.url, enclave.enclaveUrl)
const record = addConnection(as, {
  sub: 'alice',
  secret: new TextEncoder().encode(SECRET),
  inject: { type: 'bearer' },
  allowedHosts: [upstream.host],
  recipient: await attestedKey(enclave.url, stateDir),
})
const now = Math.floor(Date.now() / 1000)
const token = await dispatchToken(caller, 'alice', { demo: record.handle }, { exp: now + 3600 })
const dispatchBody = JSON.stringify({
  handle: record.handle,
  request: { method: 'GET', path: '/user', headers: { accept: 'application/json' } },
})

// Both sides use the same kind of keep-alive client with the same concurrency.
const directAgent = new Agent({ connect: { ca: pki.caPem }, connections: CONCURRENCY })
const enclaveAgent = new Agent({ connections: CONCURRENCY })
const directUrl = `https://${upstream.host}/user`
const dispatchUrl = `${enclave.url}/dispatch`

async function direct(): Promise<void> {
  const res = await request(directUrl, {
    method: 'GET',
    headers: { authorization: `Bearer ${SECRET}`, accept: 'application/json' },
    dispatcher: directAgent,
  })
  const text = await res.body.text()
  if (res.statusCode !== 200) throw new Error(`direct: ${res.statusCode} ${text}`)
}

/** One DPoP proof per dispatch (single-use `jti`), signed before the timed section. */
async function proofs(count: number): Promise<string[]> {
  const out: string[] = []
  for (let i = 0; i < count; i++) {
    out.push(
      await createDpopProof(caller.key, {
        htm: 'POST',
        htu: `${enclave.enclaveUrl}/dispatch`,
        accessToken: token,
      }),
    )
  }
  return out
}

function throughEnclave(batch: string[]): (i: number) => Promise<void> {
  return async (i) => {
    const res = await request(dispatchUrl, {
      method: 'POST',
      headers: {
        authorization: `DPoP ${token}`,
        dpop: batch[i] ?? '',
        'content-type': 'application/json',
      },
      body: dispatchBody,
      dispatcher: enclaveAgent,
    })
    const text = await res.body.text()
    if (res.statusCode !== 200 || !text.includes('"status":200'))
      throw new Error(`dispatch: ${res.statusCode} ${text}`)
  }
}

process.stderr.write(
  `enclave dispatch bench: concurrency ${CONCURRENCY}, ${COUNT} requests x ${REPEATS} repeats, warm-up ${WARMUP}${QUICK ? ' (quick)' : ''}\n`,
)
try {
  await run(WARMUP, direct)
  await run(WARMUP, throughEnclave(await proofs(WARMUP)))

  const processes = {
    load_generator: process.pid,
    peers: peers.pid,
    launcher: enclave.child.pid,
    worker: childPids(enclave.child.pid).find((pid) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('worker.cjs')
      } catch {
        return false
      }
    }),
  }
  const cpu = (): Record<string, number> =>
    Object.fromEntries(
      Object.entries(processes).map(([name, pid]) => [
        name,
        name === 'load_generator'
          ? (process.cpuUsage().user + process.cpuUsage().system) / 1e6
          : cpuSeconds(pid),
      ]),
    )
  const cpuMs = { direct: {} as Record<string, number>, enclave: {} as Record<string, number> }
  const addCpu = (
    into: Record<string, number>,
    a: Record<string, number>,
    b: Record<string, number>,
  ): void => {
    for (const k of Object.keys(a)) into[k] = (into[k] ?? 0) + ((b[k] ?? 0) - (a[k] ?? 0)) * 1000
  }
  const directRuns: RunStats[] = []
  const enclaveRuns: RunStats[] = []
  for (let r = 0; r < REPEATS; r++) {
    let c0 = cpu()
    directRuns.push(await run(COUNT, direct))
    addCpu(cpuMs.direct, c0, cpu())
    const batch = await proofs(COUNT)
    c0 = cpu()
    enclaveRuns.push(await run(COUNT, throughEnclave(batch)))
    addCpu(cpuMs.enclave, c0, cpu())
    process.stderr.write(
      `  repeat ${r + 1}: direct p50 ${directRuns[r]?.p50_ms} ms ${directRuns[r]?.rps} req/s | enclave p50 ${enclaveRuns[r]?.p50_ms} ms ${enclaveRuns[r]?.rps} req/s\n`,
    )
  }

  // One request at a time: what the enclave adds to a call when nothing queues.
  const serialDirect: RunStats[] = []
  const serialEnclave: RunStats[] = []
  for (let r = 0; r < REPEATS; r++) {
    serialDirect.push(await run(SERIAL_COUNT, direct, 1))
    serialEnclave.push(await run(SERIAL_COUNT, throughEnclave(await proofs(SERIAL_COUNT)), 1))
  }

  const summary = (runs: RunStats[]) => ({
    p50_ms: round(median(runs.map((r) => r.p50_ms))),
    p99_ms: round(median(runs.map((r) => r.p99_ms))),
    rps: round(median(runs.map((r) => r.rps)), 1),
  })
  const d = summary(directRuns)
  const e = summary(enclaveRuns)
  const addedP50 = round(e.p50_ms - d.p50_ms)
  const sd = summary(serialDirect)
  const se = summary(serialEnclave)
  const throughputPct = round((100 * e.rps) / d.rps, 1)
  const addedSerialP50 = round(se.p50_ms - sd.p50_ms)
  const cpuPerDispatch = Object.fromEntries(
    (['direct', 'enclave'] as const).map((path) => {
      const perProcess = Object.fromEntries(
        Object.entries(cpuMs[path]).map(([k, v]) => [k, round(v / (COUNT * REPEATS), 3)]),
      )
      const total = round(
        Object.values(perProcess).reduce((a, b) => a + b, 0),
        3,
      )
      return [path, { ...perProcess, total }]
    }),
  ) as Record<'direct' | 'enclave', Record<string, number> & { total: number }>
  const directCpu = cpuPerDispatch.direct.total
  // Both paths share the same cores: once they are CPU bound, the throughput ratio is the
  // inverse ratio of the CPU each request costs summed over all processes.
  const cpuBoundPct = round((100 * directCpu) / cpuPerDispatch.enclave.total, 1)
  // Even an enclave that added nothing but its cryptography could not beat this.
  const floorBoundPct = round((100 * directCpu) / (directCpu + floors.per_dispatch_us / 1000), 1)
  const results = {
    benchmark: 'enclave-dispatch',
    date: new Date().toISOString(),
    node: process.version,
    cpus: cpus().length,
    loadavg_1m_at_end: round(loadavg()[0] ?? 0, 2),
    loadavg_at_start: loadAtStart,
    loadavg_at_end: loadavg().map((x) => round(x, 2)),
    setup:
      'load generator (this process), launcher + worker (src/main.ts), upstream + stub AS (bench/peers.ts): three processes; undici keep-alive clients on both paths',
    quick: QUICK,
    concurrency: CONCURRENCY,
    requests_per_run: COUNT,
    warmup: WARMUP,
    repeats: REPEATS,
    direct: { median: d, runs: directRuns },
    enclave: { median: e, runs: enclaveRuns },
    serial: {
      requests_per_run: SERIAL_COUNT,
      direct: { median: sd, runs: serialDirect },
      enclave: { median: se, runs: serialEnclave },
      added_p50_ms: addedSerialP50,
    },
    cpu_ms_per_request: cpuPerDispatch,
    crypto_floor_us: floors,
    throughput_bounds_pct: {
      cpu_bound: cpuBoundPct,
      crypto_floor_bound: floorBoundPct,
    },
    ratios: {
      added_p50_ms: addedP50,
      added_p50_ms_concurrency_1: addedSerialP50,
      added_p99_ms: round(e.p99_ms - d.p99_ms),
      throughput_pct_of_direct: throughputPct,
    },
    aims: {
      added_p50_ms_max: AIM_ADDED_P50_MS,
      throughput_pct_min: AIM_THROUGHPUT_PCT,
      added_p50_met: addedP50 <= AIM_ADDED_P50_MS,
      added_p50_concurrency_1_met: addedSerialP50 <= AIM_ADDED_P50_MS,
      throughput_met: throughputPct >= AIM_THROUGHPUT_PCT,
    },
  }
  mkdirSync(resolve(RESULTS, '..'), { recursive: true })
  writeFileSync(RESULTS, `${JSON.stringify(results, null, 2)}\n`)
  if (process.env.BENCH_JSON_OUT) {
    mkdirSync(resolve(process.env.BENCH_JSON_OUT, '..'), { recursive: true })
    writeFileSync(process.env.BENCH_JSON_OUT, `${JSON.stringify(results, null, 2)}\n`)
  }

  const cpuLine = (c: Record<string, number>): string =>
    Object.entries(c)
      .map(([k, v]) => `${k} ${v.toFixed(3)}`)
      .join(', ')
  const row = (name: string, s: { p50_ms: number; p99_ms: number; rps: number }): string =>
    `| ${name.padEnd(16)} | ${s.p50_ms.toFixed(3).padStart(8)} | ${s.p99_ms.toFixed(3).padStart(8)} | ${s.rps.toFixed(1).padStart(9)} |`
  const lines = [
    `| path (median of ${REPEATS}) | p50 ms   | p99 ms   | req/s     |`,
    '| ---------------- | -------- | -------- | --------- |',
    row('direct HTTPS', d),
    row('enclave dispatch', e),
    '',
    row('direct, serial', sd),
    row('enclave, serial', se),
    '',
    `added p50, concurrency 1: ${addedSerialP50.toFixed(3)} ms (aim <= ${AIM_ADDED_P50_MS} ms: ${results.aims.added_p50_concurrency_1_met ? 'met' : 'MISSED'})`,
    `added p50, concurrency ${CONCURRENCY}: ${addedP50.toFixed(3)} ms (aim <= ${AIM_ADDED_P50_MS} ms: ${results.aims.added_p50_met ? 'met' : 'MISSED'}; mostly queueing: p50 ~ concurrency / throughput)`,
    `throughput, concurrency ${CONCURRENCY}: ${throughputPct.toFixed(1)} % of direct (aim >= ${AIM_THROUGHPUT_PCT} %: ${results.aims.throughput_met ? 'met' : 'MISSED'})`,
    `CPU ms per request, direct:  ${cpuLine(cpuPerDispatch.direct)}`,
    `CPU ms per request, enclave: ${cpuLine(cpuPerDispatch.enclave)}`,
    `crypto floor per dispatch (tight loop, CPU): ES256 verify ${floors.es256_verify_us} us x 2 + ES256 sign ${floors.es256_sign_us} us + sealed-box open ${floors.sealed_box_open_us} us = ${floors.per_dispatch_us} us`,
    `throughput bound: CPU-bound ratio ${cpuBoundPct.toFixed(1)} % (direct CPU / enclave CPU per request); with nothing but the crypto floor added ${floorBoundPct.toFixed(1)} %`,
    `load average (1, 5, 15 min) at start ${loadAtStart.join(' ')}, at end ${results.loadavg_at_end.join(' ')}`,
    `results: ${RESULTS}`,
  ]
  process.stdout.write(`${lines.join('\n')}\n`)
} finally {
  await directAgent.close()
  await enclaveAgent.close()
  await enclave.stop()
  await as.close()
  rmSync(dir, { recursive: true, force: true })
}
