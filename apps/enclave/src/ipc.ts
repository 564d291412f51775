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

export type LauncherToWorker =
  | { type: 'init'; init: WorkerInit }
  | { type: 'dispatch'; id: number; authorization: string[]; dpop: string[]; body: string }
  | { type: 'replay-result'; id: number; outcome: ReplayOutcome }
  | {
      type: 'hook'
      id: number
      action: 'crash' | 'heap-snapshot' | 'read-file' | 'gc'
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
