/**
 * Task records of the tasks extension (`io.modelcontextprotocol/tasks`, SEP-2663) and where
 * they are kept. {@link MemoryTaskStore} is bounded and per process; an implementation over
 * Redis or a database implements {@link TaskStore} the same way (every method is async).
 *
 * @module
 */
import type { CallToolResult, InputRequests } from '@modelcontextprotocol/server'
import { MCPServerError } from '../errors.ts'

/** SEP-2663 task statuses. */
export type TaskStatus = 'working' | 'input_required' | 'completed' | 'failed' | 'cancelled'

/** Statuses a task never leaves. */
export const TERMINAL_STATUSES: ReadonlySet<TaskStatus> = new Set([
  'completed',
  'failed',
  'cancelled',
])

/** A JSON-RPC error object, as a `failed` task carries it. */
export interface TaskError {
  code: number
  message: string
  data?: unknown
}

/** One task, as stored. */
export interface TaskRecord {
  readonly taskId: string
  /** `iss` + `sub` of the token that created it (`''`: anonymous); nobody else may see it. */
  readonly owner: string
  /** The tool that created it (its scopes apply to every task operation). */
  readonly tool: string
  status: TaskStatus
  statusMessage?: string
  /** Epoch milliseconds. */
  readonly createdAt: number
  lastUpdatedAt: number
  /** Lifetime from `createdAt`, in milliseconds; the record is gone after it. */
  readonly ttlMs: number
  readonly pollIntervalMs: number
  /** `completed`: the tool's result (a tool error is `isError: true`, still `completed`). */
  result?: CallToolResult
  /** `failed`: the protocol error. */
  error?: TaskError
  /** `input_required`: the requests still unanswered, keyed by name. */
  inputRequests?: InputRequests
  /** Answers received so far (`tasks/update`), handed to the next run of the work. */
  inputResponses?: Record<string, unknown>
}

/**
 * Where task records live. Every `MCPServer` instance behind a load balancer must use the same
 * (shared) store, or `tasks/get` on another instance answers "unknown task".
 */
export interface TaskStore {
  /** Store a new record; rejects with `MCPServerError('ERR_TASK_LIMIT')` when full. */
  create(record: TaskRecord): Promise<void>
  /** The record, or `undefined` when unknown or expired. */
  get(taskId: string): Promise<TaskRecord | undefined>
  /** Replace a stored record (no-op when it is gone). */
  put(record: TaskRecord): Promise<void>
}

/** Options of {@link MemoryTaskStore}. */
export interface MemoryTaskStoreOptions {
  /** Most records kept at once (default 10 000). */
  maxTasks?: number
  /** Clock in milliseconds (tests). */
  now?: () => number
}

/**
 * A bounded in-memory {@link TaskStore} for one process. Expired records are dropped on access;
 * when full, the oldest finished task makes room, and with none finished `create` rejects
 * (a flood of running tasks must not grow memory without bound).
 */
export class MemoryTaskStore implements TaskStore {
  readonly #records = new Map<string, TaskRecord>()
  readonly #max: number
  readonly #now: () => number

  constructor(options: MemoryTaskStoreOptions = {}) {
    this.#max = options.maxTasks ?? 10_000
    if (!Number.isInteger(this.#max) || this.#max < 1) {
      throw new MCPServerError('ERR_CONFIG', 'maxTasks must be a positive integer')
    }
    this.#now = options.now ?? Date.now
  }

  /** Records currently kept (expired ones included until swept). */
  get size(): number {
    return this.#records.size
  }

  #expired(record: TaskRecord): boolean {
    return this.#now() >= record.createdAt + record.ttlMs
  }

  create(record: TaskRecord): Promise<void> {
    if (this.#records.size >= this.#max) {
      for (const [id, existing] of this.#records) {
        if (this.#expired(existing)) this.#records.delete(id)
      }
    }
    if (this.#records.size >= this.#max) {
      // Map order is insertion order: the first finished one is the oldest.
      for (const [id, existing] of this.#records) {
        if (TERMINAL_STATUSES.has(existing.status)) {
          this.#records.delete(id)
          break
        }
      }
    }
    if (this.#records.size >= this.#max) {
      return Promise.reject(new MCPServerError('ERR_TASK_LIMIT', 'Too many tasks in progress'))
    }
    this.#records.set(record.taskId, structuredClone(record))
    return Promise.resolve()
  }

  get(taskId: string): Promise<TaskRecord | undefined> {
    const record = this.#records.get(taskId)
    if (record && this.#expired(record)) {
      this.#records.delete(taskId)
      return Promise.resolve(undefined)
    }
    // A copy, as a remote store would return: callers write back with put().
    return Promise.resolve(record ? structuredClone(record) : undefined)
  }

  put(record: TaskRecord): Promise<void> {
    if (this.#records.has(record.taskId)) {
      this.#records.set(record.taskId, structuredClone(record))
    }
    return Promise.resolve()
  }
}
