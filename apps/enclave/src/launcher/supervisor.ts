import { spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { readFileSync } from 'node:fs'
import type { Logger } from 'pino'
import type { ReplayStore } from '@dauth/protocol'
import { wireError } from '../errors.ts'
import { MessageBatcher, unbatch } from '../ipc.ts'
import type {
  DispatchResult,
  LauncherToWorker,
  MessageBatch,
  WorkerInit,
  WorkerToLauncher,
} from '../ipc.ts'
import { measureFile } from './bundle.ts'
import type { EnclaveMetrics } from './metrics.ts'

/**
 * Starts the worker as a separate OS process and keeps it running:
 * `sh -c 'ulimit -c 0 && exec node --permission --allow-fs-read=<bundle> --allow-fs-read=<keyDir> …'`
 * (no --allow-child-process, no --allow-worker, no --allow-addons, no --allow-wasi; code
 * generation from strings disabled; a bounded young generation), as `nobody` when the
 * launcher is root, with an empty environment. A crash fails the in-flight requests with 503 and the worker is respawned.
 */
export interface WorkerCredentials {
  uid: number
  gid: number
}

export interface SupervisorOptions {
  bundleFile: string
  measurement: string
  keyDir: string
  init: WorkerInit
  credentials?: WorkerCredentials
  testHooks: boolean
  logger: Logger
  metrics: EnclaveMetrics
  replayStore: ReplayStore
}

/**
 * Cap of each of the worker's two V8 young-generation semi-spaces (MiB). Without it, V8 on
 * Node 24 doubles the young generation under sustained dispatch (8 → 16 → … → 128 MiB) while
 * the worker retains ~15 MiB: its RSS climbed from ~65 to ~233 MiB over the first ~8,000
 * dispatches and kept stepping up long after any warm-up (issue #7 soak; measured with
 * bench/memory.ts and the `memory` test hook). 16 MiB (the long-standing 64-bit default) is
 * reached within ~1,000 dispatches and then stays flat, at no measurable cost in throughput.
 */
export const WORKER_MAX_SEMI_SPACE_MIB = 16

type Pending = { resolve: (result: DispatchResult) => void }
type PendingHook = {
  resolve: (result: Record<string, string | number | boolean>) => void
  chunks: Buffer[]
}

/** Looks a user up in /etc/passwd (no child process, no native addon). */
export function lookupUser(name: string): WorkerCredentials | undefined {
  try {
    for (const line of readFileSync('/etc/passwd', 'utf8').split('\n')) {
      const [user, , uid, gid] = line.split(':')
      if (user === name && uid !== undefined && gid !== undefined)
        return { uid: Number(uid), gid: Number(gid) }
    }
  } catch {
    return undefined
  }
  return undefined
}

function unavailable(): DispatchResult {
  const wire = wireError('temporarily_unavailable')
  return {
    status: wire.status,
    headers: wire.headers,
    body: JSON.stringify(wire.body),
    error: 'temporarily_unavailable',
    detail: 'worker_exit',
  }
}

export class WorkerSupervisor {
  readonly #opts: SupervisorOptions
  #child: ChildProcess | undefined
  /** the outbox of the current child only: a respawned worker never gets an old message */
  #outbox: MessageBatcher<LauncherToWorker> | undefined
  #ready = false
  #readyWaiters: ((ok: boolean) => void)[] = []
  #closing = false
  #nextId = 1
  readonly #pending = new Map<number, Pending>()
  readonly #hooks = new Map<number, PendingHook>()
  #recentExits: number[] = []
  #restartTimer: NodeJS.Timeout | undefined

  constructor(opts: SupervisorOptions) {
    this.#opts = opts
  }

  get ready(): boolean {
    return this.#ready
  }

  get pid(): number | undefined {
    return this.#child?.pid
  }

  /** Spawns the worker and resolves once it reported `ready`; rejects when it cannot start. */
  async start(): Promise<void> {
    if (!this.#spawn()) throw new Error('enclave worker bundle does not match its measurement')
    if (!(await this.#waitReady(30_000))) throw new Error('enclave worker did not start')
  }

  /** false (and no process) when the bundle on disk is not the measured one. */
  #spawn(): boolean {
    const { bundleFile, keyDir, measurement, testHooks } = this.#opts
    let current: string | undefined
    try {
      current = measureFile(bundleFile)
    } catch {
      current = undefined
    }
    if (current !== measurement) {
      this.#opts.logger.error({ msg: 'worker bundle changed on disk; refusing to start it' })
      this.#failWaiters()
      return false
    }
    const nodeArgs = [
      '--permission',
      `--allow-fs-read=${bundleFile}`,
      `--allow-fs-read=${keyDir}`,
      '--disallow-code-generation-from-strings',
      `--max-semi-space-size=${WORKER_MAX_SEMI_SPACE_MIB}`,
      ...(testHooks ? ['--expose-gc'] : []),
      bundleFile,
    ]
    const child = spawn(
      '/bin/sh',
      ['-c', 'ulimit -c 0 && exec "$0" "$@"', process.execPath, ...nodeArgs],
      {
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
        env: {},
        cwd: '/',
        serialization: 'json',
        ...(this.#opts.credentials
          ? { uid: this.#opts.credentials.uid, gid: this.#opts.credentials.gid }
          : {}),
      },
    )
    this.#child = child
    this.#outbox = new MessageBatcher<LauncherToWorker>((message) => {
      if (child.connected) child.send(message)
    })
    child.on('message', (received: WorkerToLauncher | MessageBatch<WorkerToLauncher>) => {
      for (const message of unbatch(received)) this.#onMessage(message)
    })
    child.on('error', () => undefined)
    child.on('exit', (code, signal) => this.#onExit(child, code, signal))
    child.send({ type: 'init', init: this.#opts.init } satisfies LauncherToWorker)
    return true
  }

  #onMessage(message: WorkerToLauncher): void {
    switch (message.type) {
      case 'ready':
        this.#ready = true
        this.#opts.metrics.workerUp = true
        this.#opts.logger.info({ msg: 'worker ready', pid: this.#child?.pid })
        for (const w of this.#readyWaiters.splice(0)) w(true)
        break
      case 'response': {
        const pending = this.#pending.get(message.id)
        this.#pending.delete(message.id)
        pending?.resolve(message.result)
        break
      }
      case 'replay':
        this.#opts.replayStore.checkAndStore(message.key, message.exp).then(
          (fresh) =>
            this.#send({
              type: 'replay-result',
              id: message.id,
              outcome: fresh ? 'fresh' : 'seen',
            }),
          (error: unknown) => {
            this.#opts.logger.warn({
              msg: 'replay store unavailable; refusing the proof',
              error: (error as { code?: unknown } | null)?.code ?? 'unknown',
            })
            this.#send({ type: 'replay-result', id: message.id, outcome: 'unavailable' })
          },
        )
        break
      case 'log': {
        const child = this.#opts.logger.child({ process: 'worker' })
        child[message.level]({ ...message.fields, msg: message.msg })
        break
      }
      case 'hook-chunk':
        this.#hooks.get(message.id)?.chunks.push(Buffer.from(message.data, 'base64'))
        break
      case 'hook-result': {
        const hook = this.#hooks.get(message.id)
        this.#hooks.delete(message.id)
        hook?.resolve(message.result)
        break
      }
      default:
        break
    }
  }

  #onExit(child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    if (this.#child !== child) return
    this.#child = undefined
    this.#outbox?.close()
    this.#outbox = undefined
    this.#ready = false
    this.#opts.metrics.workerUp = false
    for (const [id, pending] of this.#pending) {
      this.#pending.delete(id)
      pending.resolve(unavailable())
    }
    for (const [id, hook] of this.#hooks) {
      this.#hooks.delete(id)
      hook.resolve({ error: 'worker_exit' })
    }
    if (this.#closing) return
    this.#opts.metrics.workerRestarts += 1
    const now = Date.now()
    this.#recentExits = [...this.#recentExits.filter((t) => now - t < 10_000), now]
    const delay = Math.min(
      5_000,
      this.#recentExits.length <= 1 ? 0 : 100 * 2 ** this.#recentExits.length,
    )
    this.#opts.logger.warn({ msg: 'worker exited; restarting', code, signal, delay_ms: delay })
    this.#restartTimer = setTimeout(() => {
      this.#spawn()
    }, delay)
  }

  #failWaiters(): void {
    for (const w of this.#readyWaiters.splice(0)) w(false)
  }

  #waitReady(timeoutMs: number): Promise<boolean> {
    if (this.#ready) return Promise.resolve(true)
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#readyWaiters = this.#readyWaiters.filter((w) => w !== done)
        resolve(false)
      }, timeoutMs)
      const done = (ok: boolean): void => {
        clearTimeout(timer)
        resolve(ok)
      }
      this.#readyWaiters.push(done)
    })
  }

  #send(message: LauncherToWorker): boolean {
    if (!this.#child?.connected || !this.#outbox) return false
    this.#outbox.send(message)
    return true
  }

  /** Forwards one dispatch; 503 when the worker is not back within 10 s or dies meanwhile. */
  async dispatch(input: {
    authorization: string[]
    dpop: string[]
    body: Buffer
    requestId?: string
    trace?: Record<string, string>
  }): Promise<DispatchResult> {
    if (!(await this.#waitReady(10_000))) return unavailable()
    const id = this.#nextId++
    return new Promise((resolve) => {
      this.#pending.set(id, { resolve })
      const sent = this.#send({
        type: 'dispatch',
        id,
        authorization: input.authorization,
        dpop: input.dpop,
        body: input.body.toString('base64'),
        ...(input.requestId !== undefined ? { requestId: input.requestId } : {}),
        ...(input.trace !== undefined && Object.keys(input.trace).length > 0
          ? { trace: input.trace }
          : {}),
      })
      if (!sent) {
        this.#pending.delete(id)
        resolve(unavailable())
      }
    })
  }

  /** Test hooks (only reachable when the launcher was started with test hooks). */
  async hook(
    action: 'crash' | 'heap-snapshot' | 'read-file' | 'gc' | 'memory',
    path?: string,
  ): Promise<{ result: Record<string, string | number | boolean>; data: Buffer }> {
    if (!(await this.#waitReady(10_000)))
      return { result: { error: 'not_ready' }, data: Buffer.alloc(0) }
    const id = this.#nextId++
    return new Promise((resolve) => {
      const hook: PendingHook = {
        chunks: [],
        resolve: (result) => resolve({ result, data: Buffer.concat(hook.chunks) }),
      }
      this.#hooks.set(id, hook)
      this.#send({ type: 'hook', id, action, ...(path !== undefined ? { path } : {}) })
    })
  }

  async close(): Promise<void> {
    this.#closing = true
    if (this.#restartTimer) clearTimeout(this.#restartTimer)
    this.#failWaiters()
    const child = this.#child
    if (!child || child.exitCode !== null) return
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL')
      }, 3_000)
      child.once('exit', () => {
        clearTimeout(timer)
        resolve()
      })
      child.kill('SIGTERM')
    })
  }
}
