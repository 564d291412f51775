/**
 * Messages between the launcher and the worker over the worker's IPC channel (the only
 * channel between them: the worker has no listening socket). Nothing secret travels in
 * env vars; the key-wrapper description (dev: the master key) and the AS client key are
 * sent once in `init`.
 */
import type { EnclaveErrorCode } from './errors.ts'
import type { KeyWrapperConfig } from './keys/keyWrapper.ts'

export interface WorkerInit {
  issuer: string
  enclaveUrl: string
  keyDir: string
  /** how to unwrap the keyring's private keys (the dev master key, or a KMS description) */
  keyWrapper: KeyWrapperConfig
  clientJwk: JsonWebKey
  clientId: string
  devUpstreams: boolean
  extraCa?: string
  upstreamTimeoutMs: number
  maxResponseBytes: number
  maxRequestBytes: number
}

/** Answer of the launcher's replay store: `unavailable` = it could not decide (fail closed). */
export type ReplayOutcome = 'fresh' | 'seen' | 'unavailable'

/** Several messages written in one event-loop turn, sent as one IPC write. */
export interface MessageBatch<T> {
  type: 'batch'
  messages: T[]
}

export type LauncherToWorker =
  | { type: 'init'; init: WorkerInit }
  | {
      type: 'dispatch'
      id: number
      authorization: string[]
      dpop: string[]
      body: string
      /** `X-Request-Id` (validated by the launcher), forwarded on the envelope fetch */
      requestId?: string
      /** W3C `traceparent` / `tracestate` of the launcher's dispatch span, forwarded likewise */
      trace?: Record<string, string>
    }
  | { type: 'replay-result'; id: number; outcome: ReplayOutcome }
  | {
      type: 'hook'
      id: number
      action: 'crash' | 'heap-snapshot' | 'read-file' | 'gc' | 'memory'
      path?: string
    }

export interface DispatchResult {
  status: number
  headers: Record<string, string>
  body: string
  /** log-only: the error code when refused, and a reason code (never a value) */
  error?: EnclaveErrorCode
  detail?: string
}

export type WorkerToLauncher =
  | { type: 'ready' }
  | { type: 'response'; id: number; result: DispatchResult }
  | { type: 'replay'; id: number; key: string; exp: number }
  | {
      type: 'log'
      level: 'info' | 'warn' | 'error'
      msg: string
      fields?: Record<string, string | number | boolean>
    }
  | { type: 'hook-chunk'; id: number; data: string }
  | { type: 'hook-result'; id: number; result: Record<string, string | number | boolean> }

/**
 * Coalesces the messages of one event-loop turn into one IPC write. Under concurrent
 * dispatches each write costs a system call and wakes the other process, which on a busy
 * host is where the time goes; messages queued in the same turn (several dispatches
 * forwarded, several jti checks or answers ready) share one. Flushed in the same turn's
 * check phase (`setImmediate`), so a lone message is not held back.
 */
export class MessageBatcher<T extends { type: string }> {
  readonly #write: (message: T | MessageBatch<T>) => void
  #queue: T[] = []
  #scheduled = false
  #closed = false

  constructor(write: (message: T | MessageBatch<T>) => void) {
    this.#write = write
  }

  send(message: T): void {
    if (this.#closed) return
    this.#queue.push(message)
    if (this.#scheduled) return
    this.#scheduled = true
    setImmediate(() => this.flush())
  }

  flush(): void {
    this.#scheduled = false
    const messages = this.#queue
    this.#queue = []
    if (this.#closed || messages.length === 0) return
    this.#write(messages.length === 1 ? (messages[0] as T) : { type: 'batch', messages })
  }

  /** Drops what is queued and refuses more (the process on the other side is gone). */
  close(): void {
    this.#closed = true
    this.#queue = []
  }
}

/** The messages of one IPC read: a batch unwrapped, or the single message. */
export function unbatch<T extends { type: string }>(message: T | MessageBatch<T>): T[] {
  return message.type === 'batch' ? (message as MessageBatch<T>).messages : [message as T]
}
