/**
 * Runs tasks (SEP-2663) and answers `tasks/get`, `tasks/update` and `tasks/cancel` from a
 * {@link TaskStore}. The work of a task runs in the process that created it; the records (status,
 * result, pending input requests) live in the store.
 *
 * @module
 */
import { randomUUID } from 'node:crypto'
import {
  type CallToolResult,
  type InputRequests,
  isInputRequiredResult,
  ProtocolError,
} from '@modelcontextprotocol/server'
import { runWithContext, type ToolContext } from '../context.ts'
import { toCallToolResult } from '../tools/tool.ts'
import { TERMINAL_STATUSES, type TaskRecord, type TaskStore } from './store.ts'
import type { TaskWork } from './task.ts'

/** The task fields every task message carries (`CreateTaskResult`, `tasks/get`). */
export interface TaskWire {
  taskId: string
  status: TaskRecord['status']
  statusMessage?: string
  createdAt: string
  lastUpdatedAt: string
  ttlMs: number
  pollIntervalMs: number
}

/** `tasks/get`'s answer: the task, with its result, error or pending input requests. */
export interface DetailedTaskWire extends TaskWire {
  result?: CallToolResult
  error?: { code: number; message: string; data?: unknown }
  inputRequests?: InputRequests
}

/** Builds the context a run of the work sees (signal of the task, answers so far). */
export type TaskContextFactory = (
  signal: AbortSignal,
  inputResponses: Record<string, unknown> | undefined,
) => ToolContext

interface Running {
  readonly controller: AbortController
  readonly work: TaskWork
  readonly context: TaskContextFactory
  readonly expiry: ReturnType<typeof setTimeout>
}

/** Options of {@link TaskManager}. */
export interface TaskManagerOptions {
  store: TaskStore
  ttlMs: number
  pollIntervalMs: number
  now?: () => number
}

function toWire(record: TaskRecord): TaskWire {
  return {
    taskId: record.taskId,
    status: record.status,
    ...(record.statusMessage !== undefined ? { statusMessage: record.statusMessage } : {}),
    createdAt: new Date(record.createdAt).toISOString(),
    lastUpdatedAt: new Date(record.lastUpdatedAt).toISOString(),
    ttlMs: record.ttlMs,
    pollIntervalMs: record.pollIntervalMs,
  }
}

/** Creates, runs, resumes and cancels tasks. */
export class TaskManager {
  readonly #store: TaskStore
  readonly #ttlMs: number
  readonly #pollIntervalMs: number
  readonly #now: () => number
  readonly #running = new Map<string, Running>()
  /** Per-task queue: changes of one task are read-modify-write, never interleaved here. */
  readonly #queues = new Map<string, Promise<unknown>>()

  constructor(options: TaskManagerOptions) {
    this.#store = options.store
    this.#ttlMs = options.ttlMs
    this.#pollIntervalMs = options.pollIntervalMs
    this.#now = options.now ?? Date.now
  }

  /**
   * Store a `working` task and start its work. Resolves once the record is stored (a
   * `tasks/get` right after the answer finds it: SEP-2663 durable creation).
   */
  async start(
    tool: string,
    owner: string,
    work: TaskWork,
    context: TaskContextFactory,
  ): Promise<TaskWire> {
    const now = this.#now()
    const record: TaskRecord = {
      taskId: randomUUID(),
      owner,
      tool,
      status: 'working',
      ...(work.options.statusMessage !== undefined
        ? { statusMessage: work.options.statusMessage }
        : {}),
      createdAt: now,
      lastUpdatedAt: now,
      ttlMs: this.#ttlMs,
      pollIntervalMs: this.#pollIntervalMs,
    }
    await this.#store.create(record)
    const controller = new AbortController()
    // The work stops at the end of the task's lifetime, whatever it is doing.
    const expiry = setTimeout(() => this.#stop(record.taskId), this.#ttlMs)
    expiry.unref()
    this.#running.set(record.taskId, { controller, work, context, expiry })
    this.#run(record.taskId, undefined)
    return toWire(record)
  }

  /** The stored record (`undefined`: unknown or expired). */
  load(taskId: string): Promise<TaskRecord | undefined> {
    return this.#store.get(taskId)
  }

  /** `tasks/get` of a record the caller may see. */
  detailed(record: TaskRecord): DetailedTaskWire {
    return {
      ...toWire(record),
      ...(record.status === 'completed' && record.result ? { result: record.result } : {}),
      ...(record.status === 'failed' && record.error ? { error: record.error } : {}),
      ...(record.status === 'input_required' && record.inputRequests
        ? { inputRequests: record.inputRequests }
        : {}),
    }
  }

  /**
   * `tasks/update`: take the answers to pending input requests (unknown keys are ignored); once
   * none is pending, run the work again with every answer.
   */
  update(taskId: string, responses: Record<string, unknown>): Promise<void> {
    return this.#serial(taskId, async () => {
      const record = await this.#store.get(taskId)
      if (record) await this.#applyUpdate(record, responses)
    })
  }

  async #applyUpdate(record: TaskRecord, responses: Record<string, unknown>): Promise<void> {
    if (record.status !== 'input_required' || !record.inputRequests) return
    const pending: InputRequests = { ...record.inputRequests }
    const answers = { ...record.inputResponses }
    let changed = false
    for (const [key, value] of Object.entries(responses)) {
      if (!(key in pending)) continue
      answers[key] = value
      delete pending[key]
      changed = true
    }
    if (!changed) return
    record.inputResponses = answers
    record.lastUpdatedAt = this.#now()
    if (Object.keys(pending).length > 0) {
      record.inputRequests = pending
      await this.#store.put(record)
      return
    }
    delete record.inputRequests
    record.status = 'working'
    await this.#store.put(record)
    this.#run(record.taskId, answers)
  }

  /** `tasks/cancel`: a finished task stays as it is (idempotent). */
  cancel(taskId: string): Promise<void> {
    return this.#serial(taskId, async () => {
      const record = await this.#store.get(taskId)
      if (!record || TERMINAL_STATUSES.has(record.status)) return
      record.status = 'cancelled'
      record.lastUpdatedAt = this.#now()
      delete record.inputRequests
      delete record.inputResponses
      await this.#store.put(record)
      this.#stop(taskId)
    })
  }

  #serial<T>(taskId: string, change: () => Promise<T>): Promise<T> {
    const previous = this.#queues.get(taskId) ?? Promise.resolve()
    const next = previous.then(change, change)
    const settled = next.catch(() => undefined)
    this.#queues.set(taskId, settled)
    void settled.then(() => {
      if (this.#queues.get(taskId) === settled) this.#queues.delete(taskId)
    })
    return next
  }

  #stop(taskId: string): void {
    const running = this.#running.get(taskId)
    if (!running) return
    this.#running.delete(taskId)
    clearTimeout(running.expiry)
    running.controller.abort()
  }

  /** Stop every running work (server shutdown). */
  close(): void {
    for (const taskId of [...this.#running.keys()]) this.#stop(taskId)
  }

  #run(taskId: string, inputResponses: Record<string, unknown> | undefined): void {
    const running = this.#running.get(taskId)
    if (!running) return
    const context = running.context(running.controller.signal, inputResponses)
    void (async () => {
      let outcome: Partial<TaskRecord>
      try {
        const value = toCallToolResult(await runWithContext(context, () => running.work.work()))
        outcome = isInputRequiredResult(value)
          ? { status: 'input_required', inputRequests: value.inputRequests ?? {} }
          : { status: 'completed', result: value }
      } catch (error) {
        outcome =
          error instanceof ProtocolError
            ? {
                status: 'failed',
                error: {
                  code: error.code,
                  message: error.message,
                  ...(error.data !== undefined ? { data: error.data } : {}),
                },
              }
            : {
                // Like a synchronous call: a throwing tool is a tool error, not a protocol one.
                status: 'completed',
                result: {
                  content: [
                    { type: 'text', text: error instanceof Error ? error.message : String(error) },
                  ],
                  isError: true,
                },
              }
      }
      await this.#settle(taskId, outcome)
    })()
  }

  #settle(taskId: string, outcome: Partial<TaskRecord>): Promise<void> {
    return this.#serial(taskId, () => this.#write(taskId, outcome))
  }

  async #write(taskId: string, outcome: Partial<TaskRecord>): Promise<void> {
    try {
      const record = await this.#store.get(taskId)
      // Cancelled (or expired) meanwhile: the late outcome is dropped.
      if (!record || record.status !== 'working') return
      Object.assign(record, outcome)
      if (outcome.status !== 'working') delete record.statusMessage
      record.lastUpdatedAt = this.#now()
      await this.#store.put(record)
      if (TERMINAL_STATUSES.has(record.status)) this.#stop(taskId)
    } catch {
      // The store is unreachable: the task stays `working` until its TTL ends it.
      this.#stop(taskId)
    }
  }
}
