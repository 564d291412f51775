/**
 * Process plumbing shared by the HTTP benches: the separate load-generator process
 * (`rs/load.ts`), server CPU time from /proc, free loopback ports, readiness polling and
 * child clean-up.
 */
import { type ChildProcess, fork } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { get } from 'node:http'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import type { LoadResult, LoadSpec } from './rs/load.ts'
import { round, type Spread } from './stats.ts'

/** `BENCH_QUICK=1`: the few-seconds smoke that `pnpm test` runs. */
export const QUICK = process.env.BENCH_QUICK === '1'

/** A positive number from the environment, else `fallback` (the pinned bench settings). */
export function envNumber(name: string, fallback: number): number {
  const value = Number(process.env[name])
  return Number.isFinite(value) && value > 0 ? value : fallback
}

/** Environment of forked bench processes: Node's compile cache shortens later start-ups. */
export function childEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return {
    ...process.env,
    NODE_COMPILE_CACHE:
      process.env.NODE_COMPILE_CACHE ?? join(tmpdir(), 'dauth-bench-compile-cache'),
    ...extra,
  }
}

/** CPU seconds (user + system) of a process from /proc/<pid>/stat; NaN where unavailable. */
export function cpuSeconds(pid: number | undefined): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return (Number(fields[11]) + Number(fields[12])) / 100
  } catch {
    return Number.NaN
  }
}

/** The next IPC message of `type` from `child`; rejects on an `error` message or an exit. */
export function nextMessage<T>(child: ChildProcess, type: string): Promise<T> {
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

/** A run of the load generator plus the CPU the measured server processes spent on it. */
export type Measured = LoadResult & { cpu_us_per_req: number }

/** The load generator in its own process, so that the client's CPU is not a server's. */
export class LoadGenerator {
  readonly child: ChildProcess
  errors = 0
  firstError: string | undefined
  readonly #progress: (text: string) => void

  constructor(progress: (text: string) => void) {
    this.#progress = progress
    this.child = fork(resolve(import.meta.dirname, 'rs', 'load.ts'), [], {
      env: childEnv(),
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    })
  }

  /** Builds every request (outside the timed window), then runs them; `pids` are the servers measured. */
  async measure(
    spec: LoadSpec,
    pids: (number | undefined)[],
    label: string = spec.auth,
  ): Promise<Measured> {
    this.child.send({ type: 'prepare', spec })
    const { ms } = await nextMessage<{ ms: number }>(this.child, 'prepared')
    const cpuBefore = pids.reduce<number>((sum, pid) => sum + cpuSeconds(pid), 0)
    this.child.send({ type: 'run' })
    const { result } = await nextMessage<{ result: LoadResult }>(this.child, 'result')
    const cpuAfter = pids.reduce<number>((sum, pid) => sum + cpuSeconds(pid), 0)
    this.#progress(
      `${label} ${spec.connections} conn × ${spec.count} on ${spec.ports.length} port(s): ` +
        `prepared in ${Math.round(ms)} ms, ${Math.round(result.rps)} req/s, p99 ${result.p99_ms.toFixed(1)} ms, ${result.errors} errors`,
    )
    this.errors += result.errors
    if (result.firstError !== undefined) this.firstError ??= result.firstError
    return { ...result, cpu_us_per_req: ((cpuAfter - cpuBefore) * 1e6) / result.count }
  }

  stop(): void {
    if (this.child.connected) this.child.send({ type: 'exit' })
  }
}

/** Stops children: disconnect (they exit on it), SIGTERM for plain spawns, SIGKILL after 15 s. */
export async function stopChildren(children: readonly ChildProcess[]): Promise<void> {
  await Promise.all(
    children.map(async (child) => {
      if (child.exitCode !== null || child.signalCode !== null) return
      const exited = new Promise<void>((done) => child.once('exit', () => done()))
      if (child.connected) child.disconnect()
      else child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000)
      await exited
      clearTimeout(timer)
    }),
  )
}

/**
 * On SIGINT/SIGTERM (Ctrl-C, the suite runner's timeout) stop `children` before exiting:
 * apps started by their entry point have no IPC channel and would outlive the bench.
 */
export function stopChildrenOnSignal(children: readonly ChildProcess[]): void {
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      for (const child of children) {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM')
      }
      process.exit(signal === 'SIGINT' ? 130 : 143)
    })
  }
}

/**
 * A free loopback port, for apps whose entry point takes a port number and reports no bound
 * port (apps/as, apps/example-mcp). The port is released before the app binds it: a short race
 * that a start-up failure would report.
 */
export async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done))
  const address = server.address()
  await new Promise<void>((done) => server.close(() => done()))
  if (address === null || typeof address === 'string') throw new Error('no port')
  return address.port
}

function status(url: string, host: string | undefined): Promise<number> {
  return new Promise((done, fail) => {
    const req = get(url, host ? { headers: { host } } : {}, (res) => {
      res.resume()
      res.on('end', () => done(res.statusCode ?? 0))
    })
    req.on('error', fail)
  })
}

/**
 * Polls `url` (plain HTTP, with `host` as the Host header when given: a second instance
 * answers only to the canonical resource's host) until it answers 200, the child exits, or
 * `timeoutMs` passes.
 */
export async function waitReady(
  url: string,
  child: ChildProcess,
  options: { host?: string; timeoutMs?: number } = {},
): Promise<void> {
  const timeoutMs = options.timeoutMs ?? 60_000
  const deadline = Date.now() + timeoutMs
  let last = 'no answer'
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${url}: process exited (${child.exitCode})`)
    try {
      const code = await status(url, options.host)
      if (code === 200) return
      last = `HTTP ${code}`
    } catch (error) {
      last = String(error)
    }
    await new Promise((done) => setTimeout(done, 100))
  }
  throw new Error(`${url} not ready after ${timeoutMs} ms (${last})`)
}

export function roundSpread(s: Spread, digits: number): Spread {
  return { min: round(s.min, digits), median: round(s.median, digits), max: round(s.max, digits) }
}

export function roundRun(x: LoadResult): LoadResult {
  return {
    ...x,
    seconds: round(x.seconds, 3),
    rps: round(x.rps, 0),
    p50_ms: round(x.p50_ms),
    p99_ms: round(x.p99_ms),
    mean_ms: round(x.mean_ms),
  }
}
