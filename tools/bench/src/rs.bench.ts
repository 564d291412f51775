/**
 * Resource-server HTTP benchmark (issue 8): an authorized MCP `tools/call` of a no-I/O `echo`
 * tool, load from a separate process, fixed connections, warm-up, repeats interleaved A/B/C,
 * medians. Variants, in the same run:
 *   A  @dauth/mcp-server MCPServer, authorization on (ES256 JWT + DPoP-bound + scope)
 *   B  the same server, authorization disabled
 *   C  official @modelcontextprotocol/sdk stateless Streamable HTTP behind requireBearerAuth
 * Plus a concurrency curve of A (p99 vs connections) and two A instances vs one.
 * Run: pnpm --filter @dauth/bench bench:rs   (BENCH_QUICK=1 for a smoke run)
 * Env: BENCH_QUICK, BENCH_JSON_OUT, BENCH_RS_CONNECTIONS, BENCH_RS_COUNT, BENCH_RS_WARMUP,
 *      BENCH_RS_REPEATS, BENCH_RS_CURVE (e.g. "1,4,16,64,256"), BENCH_RS_CURVE_COUNT.
 */
import { type ChildProcess, fork } from 'node:child_process'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { loadavg, tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { performance } from 'node:perf_hooks'
import { calculateJwkThumbprint } from '@dauth/protocol'
import { exportJWK, generateKeyPair } from 'jose'
import { renderRsMarkdown } from './report.ts'
import { startStandInAs } from './rs/as.ts'
import type { LoadResult, LoadSpec } from './rs/load.ts'
import type { ServerMode } from './rs/server.ts'
import type { CurvePoint, RsBenchResult, VariantId, VariantResult } from './rs/types.ts'
import { aimAtLeast, machineInfo, round, type Spread, spread } from './stats.ts'

const QUICK = process.env.BENCH_QUICK === '1'
const num = (name: string, fallback: number): number => {
  const value = Number(process.env[name])
  return Number.isFinite(value) && value > 0 ? value : fallback
}
const CONNECTIONS = num('BENCH_RS_CONNECTIONS', 16)
const COUNT = num('BENCH_RS_COUNT', QUICK ? 100 : 3000)
const WARMUP = num('BENCH_RS_WARMUP', QUICK ? 50 : 1000)
const REPEATS = num('BENCH_RS_REPEATS', 3)
const CURVE = (process.env.BENCH_RS_CURVE ?? '1,4,16,64,256')
  .split(',')
  .map(Number)
  .filter((n) => Number.isInteger(n) && n > 0)
const CURVE_COUNT = num('BENCH_RS_CURVE_COUNT', QUICK ? 64 : 1200)
const OUT = resolve(
  process.env.BENCH_JSON_OUT ?? resolve(import.meta.dirname, '..', 'results', 'rs.json'),
)
const LABELS: Record<VariantId, string> = {
  A: '@dauth/mcp-server, auth on (JWT ES256 + DPoP + scope)',
  B: '@dauth/mcp-server, auth off',
  C: 'official SDK stateless + requireBearerAuth (jose ES256)',
}

const started = performance.now()
const machine = machineInfo()
const children: ChildProcess[] = []
// Node's on-disk compile cache shortens the start of the forked processes on later runs.
const childEnv: NodeJS.ProcessEnv = {
  ...process.env,
  NODE_COMPILE_CACHE: process.env.NODE_COMPILE_CACHE ?? join(tmpdir(), 'dauth-bench-compile-cache'),
}

function cpuSeconds(pid: number | undefined): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return (Number(fields[11]) + Number(fields[12])) / 100
  } catch {
    return Number.NaN
  }
}

function nextMessage<T>(child: ChildProcess, type: string): Promise<T> {
  return new Promise((resolveMessage, reject) => {
    const onMessage = (message: { type: string; message?: string }): void => {
      if (message.type === type) {
        cleanup()
        resolveMessage(message as T)
      } else if (message.type === 'error') {
        cleanup()
        reject(new Error(message.message))
      }
    }
    const onExit = (code: number | null): void => {
      cleanup()
      reject(new Error(`child exited (${code}) before '${type}'`))
    }
    const cleanup = (): void => {
      child.off('message', onMessage)
      child.off('exit', onExit)
    }
    child.on('message', onMessage)
    child.on('exit', onExit)
  })
}

interface ServerProcess {
  child: ChildProcess
  url: string
  port: number
}

async function startServer(
  mode: ServerMode,
  issuer: string,
  resource?: string,
): Promise<ServerProcess> {
  const child = fork(resolve(import.meta.dirname, 'rs', 'server.ts'), [], {
    env: {
      ...childEnv,
      BENCH_RS_MODE: mode,
      BENCH_RS_ISSUER: issuer,
      ...(resource ? { BENCH_RS_RESOURCE: resource } : {}),
    },
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  })
  children.push(child)
  const ready = await nextMessage<{ url: string; port: number }>(child, 'ready')
  return { child, url: ready.url, port: ready.port }
}

const progress = (text: string): void => {
  process.stderr.write(`[rs ${((performance.now() - started) / 1000).toFixed(1)} s] ${text}\n`)
}
const as = await startStandInAs()
const load = fork(resolve(import.meta.dirname, 'rs', 'load.ts'), [], {
  env: childEnv,
  stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
})
children.push(load)

try {
  // Start every process at once (module loading dominates start-up on a busy machine).
  const [serverA, serverB, serverC] = await Promise.all([
    startServer('dauth-auth', as.issuer),
    startServer('dauth-noauth', as.issuer),
    startServer('sdk-bearer', as.issuer),
  ])
  const servers: Record<VariantId, ServerProcess> = { A: serverA, B: serverB, C: serverC }
  const secondStarting = startServer('dauth-auth', as.issuer, serverA.url)
  progress('servers ready')
  const dpop = await generateKeyPair('ES256', { extractable: true })
  const dpopPrivateJwk = await exportJWK(dpop.privateKey)
  const jkt = await calculateJwkThumbprint(await exportJWK(dpop.publicKey))
  const tokenCount = Math.max(CONNECTIONS, 16)
  const mintMany = (aud: string, bound: boolean): Promise<string[]> =>
    Promise.all(
      Array.from({ length: tokenCount }, (_, i) =>
        as.mint({ aud, scope: 'echo', sub: `user-${i}`, ...(bound ? { jkt } : {}) }),
      ),
    )
  const tokensA = await mintMany(servers.A.url, true)
  const tokensC = await mintMany(servers.C.url, false)

  const specFor = (
    id: VariantId,
    connections: number,
    count: number,
    ports?: number[],
  ): LoadSpec => {
    const server = servers[id]
    const base = { ports: ports ?? [server.port], resourceUrl: server.url, connections, count }
    if (id === 'A') return { ...base, auth: 'dpop', tokens: tokensA, dpopPrivateJwk }
    if (id === 'C') return { ...base, auth: 'bearer', tokens: tokensC }
    return { ...base, auth: 'none', tokens: [] }
  }

  let errors = 0
  let firstError: string | undefined
  const measure = async (
    spec: LoadSpec,
    pids: (number | undefined)[],
  ): Promise<LoadResult & { cpu_us_per_req: number }> => {
    load.send({ type: 'prepare', spec })
    const { ms } = await nextMessage<{ ms: number }>(load, 'prepared')
    const cpuBefore = pids.reduce<number>((sum, pid) => sum + cpuSeconds(pid), 0)
    load.send({ type: 'run' })
    const { result } = await nextMessage<{ result: LoadResult }>(load, 'result')
    const cpuAfter = pids.reduce<number>((sum, pid) => sum + cpuSeconds(pid), 0)
    progress(
      `${spec.auth} ${spec.connections} conn × ${spec.count} on ${spec.ports.length} port(s): ` +
        `prepared in ${Math.round(ms)} ms, ${Math.round(result.rps)} req/s, p99 ${result.p99_ms.toFixed(1)} ms, ${result.errors} errors`,
    )
    errors += result.errors
    if (result.firstError !== undefined) firstError ??= result.firstError
    return { ...result, cpu_us_per_req: ((cpuAfter - cpuBefore) * 1e6) / result.count }
  }

  // Warm-up (JIT, JWKS discovery, connection setup), not recorded.
  for (const id of ['A', 'B', 'C'] as const) {
    await measure(specFor(id, CONNECTIONS, WARMUP), [servers[id].child.pid])
  }

  // Main comparison: repeats interleaved, the order rotated per repeat.
  const runs: Record<VariantId, (LoadResult & { cpu_us_per_req: number })[]> = {
    A: [],
    B: [],
    C: [],
  }
  const order: VariantId[] = ['A', 'B', 'C']
  for (let r = 0; r < REPEATS; r++) {
    for (let k = 0; k < order.length; k++) {
      const id = order[(k + r) % order.length] as VariantId
      runs[id].push(await measure(specFor(id, CONNECTIONS, COUNT), [servers[id].child.pid]))
    }
  }
  const variant = (id: VariantId): VariantResult => ({
    label: LABELS[id],
    rps: roundSpread(spread(runs[id].map((x) => x.rps)), 0),
    p50_ms: roundSpread(spread(runs[id].map((x) => x.p50_ms)), 2),
    p99_ms: roundSpread(spread(runs[id].map((x) => x.p99_ms)), 2),
    server_cpu_us_per_req: roundSpread(spread(runs[id].map((x) => x.cpu_us_per_req)), 0),
    runs: runs[id].map(({ cpu_us_per_req: _, ...x }) => roundRun(x)),
  })
  const ratio = (a: VariantId, b: VariantId, key: 'rps' | 'p99_ms'): Spread =>
    roundSpread(spread(runs[a].map((x, i) => x[key] / (runs[b][i]?.[key] ?? Number.NaN))), 3)
  const cpuRatio = (b: VariantId): Spread =>
    roundSpread(
      spread(runs.A.map((x, i) => (runs[b][i]?.cpu_us_per_req ?? Number.NaN) / x.cpu_us_per_req)),
      3,
    )
  const ratios = {
    A_over_B_rps: ratio('A', 'B', 'rps'),
    A_over_C_rps: ratio('A', 'C', 'rps'),
    A_over_B_p99: ratio('A', 'B', 'p99_ms'),
    A_over_C_p99: ratio('A', 'C', 'p99_ms'),
    // Server CPU per request (from /proc): throughput per CPU-second, A relative to B / C.
    A_over_B_cpu_efficiency: cpuRatio('B'),
    A_over_C_cpu_efficiency: cpuRatio('C'),
  }

  // Concurrency curve of A (short runs).
  const curve: CurvePoint[] = []
  for (const connections of CURVE) {
    const count = Math.max(CURVE_COUNT, connections * (QUICK ? 1 : 4))
    await measure(specFor('A', connections, Math.max(connections, Math.floor(count / 5))), [])
    const result = await measure(specFor('A', connections, count), [])
    curve.push({
      connections,
      count,
      rps: round(result.rps, 0),
      p50_ms: round(result.p50_ms),
      p99_ms: round(result.p99_ms),
      errors: result.errors,
    })
  }

  // Two A instances (two processes, two ports, load split by connection) vs one.
  const second = await secondStarting
  await measure(specFor('A', CONNECTIONS, WARMUP, [second.port]), [second.child.pid])
  const one: LoadResult[] = []
  const two: LoadResult[] = []
  for (let r = 0; r < REPEATS; r++) {
    one.push(await measure(specFor('A', CONNECTIONS, COUNT), [servers.A.child.pid]))
    two.push(
      await measure(specFor('A', CONNECTIONS, COUNT, [servers.A.port, second.port]), [
        servers.A.child.pid,
        second.child.pid,
      ]),
    )
  }

  const variants = { A: variant('A'), B: variant('B'), C: variant('C') }
  const result: RsBenchResult = {
    name: 'rs',
    version: 1,
    quick: QUICK,
    command: `${QUICK ? 'BENCH_QUICK=1 ' : ''}pnpm --filter @dauth/bench bench:rs`,
    startedAt: new Date(Date.now() - (performance.now() - started)).toISOString(),
    seconds: round((performance.now() - started) / 1000, 1),
    machine,
    loadAverageAfter: loadavg().map((x) => round(x)) as [number, number, number],
    config: {
      connections: CONNECTIONS,
      count: COUNT,
      warmup: WARMUP,
      repeats: REPEATS,
      curve: CURVE,
      curveCount: CURVE_COUNT,
      responseMode: 'json',
    },
    variants,
    ratios,
    aims: [
      aimAtLeast('A/B req/s ≥ 70 %', 70, ratios.A_over_B_rps.median),
      aimAtLeast('A/C req/s ≥ 100 %', 100, ratios.A_over_C_rps.median),
    ],
    curve,
    instances: {
      connections: CONNECTIONS,
      one: {
        rps: roundSpread(spread(one.map((x) => x.rps)), 0),
        p99_ms: roundSpread(spread(one.map((x) => x.p99_ms)), 2),
      },
      two: {
        rps: roundSpread(spread(two.map((x) => x.rps)), 0),
        p99_ms: roundSpread(spread(two.map((x) => x.p99_ms)), 2),
      },
      two_over_one_rps: roundSpread(
        spread(two.map((x, i) => x.rps / (one[i]?.rps ?? Number.NaN))),
        3,
      ),
    },
    errors,
    ...(firstError !== undefined ? { firstError } : {}),
  }
  mkdirSync(dirname(OUT), { recursive: true })
  writeFileSync(OUT, `${JSON.stringify(result, null, 2)}\n`)
  console.log(renderRsMarkdown(result))
  console.log(`JSON written to ${OUT}`)
} finally {
  load.send({ type: 'exit' })
  await Promise.all(
    children.map(async (child) => {
      if (child.exitCode !== null || child.signalCode !== null) return
      const exited = new Promise<void>((done) => child.once('exit', () => done()))
      if (child.connected) child.disconnect()
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000)
      await exited
      clearTimeout(timer)
    }),
  )
  await as.close()
}

function roundSpread(s: Spread, digits: number): Spread {
  return { min: round(s.min, digits), median: round(s.median, digits), max: round(s.max, digits) }
}

function roundRun(x: LoadResult): LoadResult {
  return {
    ...x,
    seconds: round(x.seconds, 3),
    rps: round(x.rps, 0),
    p50_ms: round(x.p50_ms),
    p99_ms: round(x.p99_ms),
    mean_ms: round(x.mean_ms),
  }
}
