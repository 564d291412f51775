/**
 * Resource-server HTTP benchmark (issue 8): an authorized MCP `tools/call` of a no-I/O `echo`
 * tool, load from a separate process, fixed connections, warm-up, repeats interleaved A/B/C,
 * medians. Variants, in the same run:
 *   A  @dauth/mcp-server MCPServer, authorization on (ES256 JWT + DPoP-bound + scope)
 *   B  the same server, authorization disabled
 *   C  official @modelcontextprotocol/sdk stateless Streamable HTTP behind requireBearerAuth
 * Scale, on the example server apps/example-mcp (its `echo` tool, scope `read`, DPoP required)
 * started by its own entry point: the cost curve (req/s, p50, p99 as connections rise) and two
 * instances (two processes, two ports, the load generator spreading connections) vs one.
 * Run: pnpm --filter @dauth/bench bench:rs   (BENCH_QUICK=1 for a smoke run)
 * Env: BENCH_QUICK, BENCH_JSON_OUT, BENCH_RS_CONNECTIONS, BENCH_RS_COUNT, BENCH_RS_WARMUP,
 *      BENCH_RS_REPEATS, BENCH_RS_CURVE (e.g. "1,4,16,64,256"), BENCH_RS_CURVE_COUNT,
 *      BENCH_RS_CPU_PROF (a directory for the A/B/C servers' V8 CPU profiles).
 */
import { type ChildProcess, fork, spawn } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { loadavg, tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { performance } from 'node:perf_hooks'
import { calculateJwkThumbprint } from '@dauth/protocol'
import { exportJWK, generateKeyPair } from 'jose'
import {
  childEnv,
  envNumber,
  freePort,
  LoadGenerator,
  QUICK,
  type Measured,
  nextMessage,
  roundRun,
  roundSpread,
  stopChildren,
  stopChildrenOnSignal,
  waitReady,
} from './harness.ts'
import { renderRsMarkdown } from './report.ts'
import { startStandInAs } from './rs/as.ts'
import type { LoadSpec } from './rs/load.ts'
import type { ServerMode } from './rs/server.ts'
import type { CurvePoint, RsBenchResult, VariantId, VariantResult } from './rs/types.ts'
import { aimAtLeast, machineInfo, round, type Spread, spread } from './stats.ts'

const CONNECTIONS = envNumber('BENCH_RS_CONNECTIONS', 16)
const COUNT = envNumber('BENCH_RS_COUNT', QUICK ? 100 : 3000)
const WARMUP = envNumber('BENCH_RS_WARMUP', QUICK ? 50 : 1000)
const REPEATS = envNumber('BENCH_RS_REPEATS', 3)
const CURVE = (process.env.BENCH_RS_CURVE ?? '1,4,16,64,256')
  .split(',')
  .map(Number)
  .filter((n) => Number.isInteger(n) && n > 0)
const CURVE_COUNT = envNumber('BENCH_RS_CURVE_COUNT', QUICK ? 64 : 1200)
/** A directory: each variant's server writes a V8 CPU profile under <dir>/<mode>/ on exit. */
const CPU_PROF = process.env.BENCH_RS_CPU_PROF ? resolve(process.env.BENCH_RS_CPU_PROF) : undefined
const OUT = resolve(
  process.env.BENCH_JSON_OUT ?? resolve(import.meta.dirname, '..', 'results', 'rs.json'),
)
const LABELS: Record<VariantId, string> = {
  A: '@dauth/mcp-server, auth on (JWT ES256 + DPoP + scope)',
  B: '@dauth/mcp-server, auth off',
  C: 'official SDK stateless + requireBearerAuth (jose ES256)',
}
const EXAMPLE_MCP_MAIN = resolve(
  import.meta.dirname,
  '..',
  '..',
  '..',
  'apps',
  'example-mcp',
  'src',
  'main.ts',
)

const started = performance.now()
const machine = machineInfo()
const children: ChildProcess[] = []
stopChildrenOnSignal(children)
const stateDir = mkdtempSync(join(tmpdir(), 'dauth-bench-rs-'))

interface ServerProcess {
  child: ChildProcess
  url: string
  port: number
}

async function startServer(mode: ServerMode, issuer: string): Promise<ServerProcess> {
  const child = fork(resolve(import.meta.dirname, 'rs', 'server.ts'), [], {
    execArgv: CPU_PROF
      ? [...process.execArgv, '--cpu-prof', `--cpu-prof-dir=${CPU_PROF}/${mode}`]
      : process.execArgv,
    env: childEnv({ BENCH_RS_MODE: mode, BENCH_RS_ISSUER: issuer }),
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  })
  children.push(child)
  const ready = await nextMessage<{ url: string; port: number }>(child, 'ready')
  return { child, url: ready.url, port: ready.port }
}

/**
 * apps/example-mcp through its own entry point (src/main.ts), dispatch off (no client file),
 * in-memory DPoP replay (no REDIS_URL). Every instance serves the same canonical resource URL,
 * as instances behind one load balancer would.
 */
async function startExampleMcp(
  issuer: string,
  resourceUrl: string,
  port: number,
): Promise<ServerProcess> {
  const { REDIS_URL: _redis, ...env } = childEnv({
    DAUTH_ISSUER: issuer,
    DAUTH_MCP_URL: resourceUrl,
    DAUTH_MCP_PORT: String(port),
    DAUTH_STATE_DIR: stateDir,
    DAUTH_MCP_CLIENT_FILE: join(stateDir, 'no-client.json'),
  })
  const child = spawn(process.execPath, [EXAMPLE_MCP_MAIN], {
    env,
    stdio: ['ignore', 'ignore', 'inherit'],
  })
  children.push(child)
  await waitReady(`http://127.0.0.1:${port}/.well-known/oauth-protected-resource/mcp`, child, {
    host: new URL(resourceUrl).host,
  })
  return { child, url: resourceUrl, port }
}

const progress = (text: string): void => {
  process.stderr.write(`[rs ${((performance.now() - started) / 1000).toFixed(1)} s] ${text}\n`)
}
const as = await startStandInAs()
const load = new LoadGenerator(progress)
children.push(load.child)

try {
  // Start every process at once (module loading dominates start-up on a busy machine).
  const [p1, p2] = [await freePort(), await freePort()]
  const exampleUrl = `http://127.0.0.1:${p1}/mcp`
  const [serverA, serverB, serverC, example1, example2] = await Promise.all([
    startServer('dauth-auth', as.issuer),
    startServer('dauth-noauth', as.issuer),
    startServer('sdk-bearer', as.issuer),
    startExampleMcp(as.issuer, exampleUrl, p1),
    startExampleMcp(as.issuer, exampleUrl, p2),
  ])
  const servers: Record<VariantId, ServerProcess> = { A: serverA, B: serverB, C: serverC }
  progress('servers ready')
  const dpop = await generateKeyPair('ES256', { extractable: true })
  const dpopPrivateJwk = await exportJWK(dpop.privateKey)
  const jkt = await calculateJwkThumbprint(await exportJWK(dpop.publicKey))
  const mintMany = (aud: string, scope: string, bound: boolean, n: number): Promise<string[]> =>
    Promise.all(
      Array.from({ length: n }, (_, i) =>
        as.mint({ aud, scope, sub: `user-${i}`, ...(bound ? { jkt } : {}) }),
      ),
    )
  // One token per connection (a client reuses its token; each request has a fresh proof).
  const tokenCount = Math.max(CONNECTIONS, 16)
  const tokensA = await mintMany(servers.A.url, 'echo', true, tokenCount)
  const tokensC = await mintMany(servers.C.url, 'echo', false, tokenCount)
  const tokensE = await mintMany(exampleUrl, 'read', true, Math.max(tokenCount, ...CURVE))

  const specFor = (id: VariantId, connections: number, count: number): LoadSpec => {
    const server = servers[id]
    const base = { ports: [server.port], resourceUrl: server.url, connections, count }
    if (id === 'A') return { ...base, auth: 'dpop', tokens: tokensA, dpopPrivateJwk }
    if (id === 'C') return { ...base, auth: 'bearer', tokens: tokensC }
    return { ...base, auth: 'none', tokens: [] }
  }
  const exampleSpec = (connections: number, count: number, ports: number[]): LoadSpec => ({
    auth: 'dpop',
    ports,
    resourceUrl: exampleUrl,
    connections,
    count,
    tokens: tokensE,
    dpopPrivateJwk,
  })

  // Warm-up (JIT, JWKS discovery, connection setup), not recorded.
  for (const id of ['A', 'B', 'C'] as const) {
    await load.measure(specFor(id, CONNECTIONS, WARMUP), [servers[id].child.pid], `warm-up ${id}`)
  }

  // Main comparison: repeats interleaved, the order rotated per repeat.
  const runs: Record<VariantId, Measured[]> = { A: [], B: [], C: [] }
  const order: VariantId[] = ['A', 'B', 'C']
  for (let r = 0; r < REPEATS; r++) {
    for (let k = 0; k < order.length; k++) {
      const id = order[(k + r) % order.length] as VariantId
      runs[id].push(
        await load.measure(specFor(id, CONNECTIONS, COUNT), [servers[id].child.pid], id),
      )
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

  // Cost curve of one example-mcp instance: a short warm-up per point, then the points
  // interleaved per repeat (so that a burst of other load spreads over all of them).
  const e1 = [example1.child.pid]
  const curveCount = (c: number): number => Math.max(CURVE_COUNT, c * (QUICK ? 1 : 4))
  for (const c of CURVE) {
    await load.measure(
      exampleSpec(c, Math.max(c, Math.floor(curveCount(c) / 5)), [p1]),
      e1,
      `warm-up curve`,
    )
  }
  const curveRuns = new Map<number, Measured[]>(CURVE.map((c) => [c, []]))
  for (let r = 0; r < REPEATS; r++) {
    for (const c of CURVE) {
      curveRuns.get(c)?.push(await load.measure(exampleSpec(c, curveCount(c), [p1]), e1, 'curve'))
    }
  }
  const curve: CurvePoint[] = CURVE.map((c) => {
    const points = curveRuns.get(c) ?? []
    return {
      connections: c,
      count: curveCount(c),
      rps: roundSpread(spread(points.map((x) => x.rps)), 0),
      p50_ms: roundSpread(spread(points.map((x) => x.p50_ms)), 2),
      p99_ms: roundSpread(spread(points.map((x) => x.p99_ms)), 2),
      errors: points.reduce((sum, x) => sum + x.errors, 0),
    }
  })

  // Two example-mcp instances (two processes, two ports, connections split) vs one, interleaved.
  const both = [example1.child.pid, example2.child.pid]
  await load.measure(exampleSpec(CONNECTIONS, WARMUP, [p2]), [example2.child.pid], 'warm-up second')
  const one: Measured[] = []
  const two: Measured[] = []
  for (let r = 0; r < REPEATS; r++) {
    const runOne = async () =>
      one.push(await load.measure(exampleSpec(CONNECTIONS, COUNT, [p1]), e1, 'one'))
    const runTwo = async () =>
      two.push(await load.measure(exampleSpec(CONNECTIONS, COUNT, [p1, p2]), both, 'two'))
    if (r % 2 === 0) {
      await runOne()
      await runTwo()
    } else {
      await runTwo()
      await runOne()
    }
  }
  const side = (xs: Measured[]) => ({
    rps: roundSpread(spread(xs.map((x) => x.rps)), 0),
    p50_ms: roundSpread(spread(xs.map((x) => x.p50_ms)), 2),
    p99_ms: roundSpread(spread(xs.map((x) => x.p99_ms)), 2),
    server_cpu_us_per_req: roundSpread(spread(xs.map((x) => x.cpu_us_per_req)), 0),
  })

  const variants = { A: variant('A'), B: variant('B'), C: variant('C') }
  const result: RsBenchResult = {
    name: 'rs',
    version: 2,
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
    scaleServer: 'apps/example-mcp (src/main.ts), tool echo, DPoP-bound token with scope read',
    curve,
    instances: {
      connections: CONNECTIONS,
      one: side(one),
      two: side(two),
      two_over_one_rps: roundSpread(
        spread(two.map((x, i) => x.rps / (one[i]?.rps ?? Number.NaN))),
        3,
      ),
      note: `Both instances, the load generator and everything else on this machine share ${machine.cores} cores, so two instances can at best approach ${Math.min(2, machine.cores)}× and in practice less: the load generator needs CPU too${loadavg()[0]! > machine.cores ? `, and with a load average of ${round(loadavg()[0]!, 1)} on ${machine.cores} cores there was no idle core for the second instance` : ''}.`,
    },
    errors: load.errors,
    ...(load.firstError !== undefined ? { firstError: load.firstError } : {}),
  }
  mkdirSync(dirname(OUT), { recursive: true })
  writeFileSync(OUT, `${JSON.stringify(result, null, 2)}\n`)
  console.log(renderRsMarkdown(result))
  console.log(`JSON written to ${OUT}`)
} finally {
  load.stop()
  await stopChildren(children)
  await as.close()
  rmSync(stateDir, { recursive: true, force: true })
}
