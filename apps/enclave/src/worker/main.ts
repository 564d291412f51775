/**
 * Worker entry: bundled by the launcher with esbuild into one file whose SHA-384 is the
 * attested measurement, then run as a separate OS process under Node's permission model.
 * Its only channel to the launcher is the IPC pipe; secrets arrive there (never in env).
 */
import { lookup } from 'node:dns/promises'
import { readFileSync } from 'node:fs'
import { getHeapSnapshot, getHeapSpaceStatistics, getHeapStatistics } from 'node:v8'
import { ReplayStoreError } from '@dauth/protocol'
import type { ReplayStore } from '@dauth/protocol'
import { MessageBatcher, unbatch } from '../ipc.ts'
import type {
  LauncherToWorker,
  MessageBatch,
  ReplayOutcome,
  WorkerInit,
  WorkerToLauncher,
} from '../ipc.ts'
import { BoxKeyCache } from '../keys/keyring.ts'
import { createKeyWrapper } from '../keys/keyWrapper.ts'
import { AuthorizationServerClient } from './asClient.ts'
import { handleDispatch } from './dispatch.ts'
import { DpopSigner } from './dpopSigner.ts'
import { runWithRequestId } from './requestScope.ts'
import type { DispatchContext } from './dispatch.ts'
import type { Resolver } from './hosts.ts'
import { DispatchTokenVerifier } from './tokens.ts'
import { UpstreamPool } from './upstream.ts'

// Replaced at bundle time (esbuild `define`): hooks exist only in a test build, which
// therefore has a different measurement from the production build.
declare const __DAUTH_TEST_HOOKS__: boolean

const outbox = new MessageBatcher<WorkerToLauncher>((message) => {
  process.send?.(message)
})

function send(message: WorkerToLauncher): void {
  outbox.send(message)
}

function log(
  level: 'info' | 'warn' | 'error',
  msg: string,
  fields?: Record<string, string | number | boolean>,
): void {
  send({ type: 'log', level, msg, ...(fields ? { fields } : {}) })
}

// Never print an exception message or stack: either could quote secret material.
process.on('uncaughtException', (error) => {
  process.stderr.write(
    `{"level":50,"component":"worker","msg":"fatal","error":${JSON.stringify(error.name)}}\n`,
  )
  process.exit(70)
})
process.on('unhandledRejection', () => {
  process.stderr.write(
    '{"level":50,"component":"worker","msg":"fatal","error":"unhandled_rejection"}\n',
  )
  process.exit(70)
})
process.on('disconnect', () => process.exit(0))
process.on('SIGTERM', () => process.exit(0))

/**
 * The replay store lives in the launcher (memory or Redis), so it outlives worker restarts
 * and is shared by every instance with `REDIS_URL`. `unavailable` rejects with
 * ReplayStoreError: the dispatch fails closed with 503.
 */
class IpcReplayStore implements ReplayStore {
  #next = 1
  readonly #pending = new Map<number, (outcome: ReplayOutcome) => void>()
  checkAndStore(key: string, expiresAtSeconds: number): Promise<boolean> {
    const id = this.#next++
    return new Promise<ReplayOutcome>((resolve) => {
      this.#pending.set(id, resolve)
      send({ type: 'replay', id, key, exp: expiresAtSeconds })
    }).then((outcome) => {
      if (outcome === 'unavailable') throw new ReplayStoreError('ERR_REPLAY_STORE_UNAVAILABLE')
      return outcome === 'fresh'
    })
  }
  settle(id: number, outcome: ReplayOutcome): void {
    const resolve = this.#pending.get(id)
    this.#pending.delete(id)
    resolve?.(outcome)
  }
}

// Successful lookups are kept a few seconds (like a local resolver cache); every use still
// runs the address policy on the answer, and the connection is pinned to what was checked.
const DNS_TTL_MS = 5_000
const dnsCache = new Map<
  string,
  { answers: { address: string; family: number }[]; until: number }
>()
const resolver: Resolver = async (hostname) => {
  const now = Date.now()
  const cached = dnsCache.get(hostname)
  if (cached && cached.until > now) return cached.answers
  const answers = (await lookup(hostname, { all: true, order: 'ipv4first' })).map((a) => ({
    address: a.address,
    family: a.family,
  }))
  if (dnsCache.size >= 256) dnsCache.clear()
  dnsCache.set(hostname, { answers, until: now + DNS_TTL_MS })
  return answers
}

let crashOnNextDispatch = false
/** the number of upstream keep-alive pools (the `memory` test hook reports it) */
let upstreamAgents: (() => number) | undefined

async function start(init: WorkerInit): Promise<void> {
  // Unwrapping goes through the KeyWrapper interface only: a KMS wrapper replaces the
  // master-key one without touching the dispatch path.
  const wrapper = createKeyWrapper(init.keyWrapper)
  const keys = new BoxKeyCache(init.keyDir, wrapper)
  await keys.refresh()
  const replayStore = new IpcReplayStore()
  const as = new AuthorizationServerClient({
    issuer: init.issuer,
    clientId: init.clientId,
    clientJwk: init.clientJwk,
    dpop: await DpopSigner.generate(),
  })
  const verifier = new DispatchTokenVerifier({
    issuer: init.issuer,
    audience: init.enclaveUrl,
    jwksUri: async () => (await as.metadata()).jwks_uri,
  })
  const upstreams = new UpstreamPool({
    ...(init.extraCa !== undefined ? { extraCa: init.extraCa } : {}),
    timeoutMs: init.upstreamTimeoutMs,
  })
  const ctx: DispatchContext = {
    issuer: init.issuer,
    enclaveUrl: init.enclaveUrl,
    devUpstreams: init.devUpstreams,
    ...(init.extraCa !== undefined ? { extraCa: init.extraCa } : {}),
    upstreamTimeoutMs: init.upstreamTimeoutMs,
    maxResponseBytes: init.maxResponseBytes,
    verifier,
    as,
    keys,
    replayStore,
    resolver,
    upstreams,
  }
  upstreamAgents = () => upstreams.size

  process.on('message', (received: LauncherToWorker | MessageBatch<LauncherToWorker>) => {
    for (const message of unbatch(received)) onMessage(message)
  })
  send({ type: 'ready' })

  function onMessage(message: LauncherToWorker): void {
    switch (message.type) {
      case 'dispatch': {
        if (__DAUTH_TEST_HOOKS__ && crashOnNextDispatch) process.exit(99)
        // One IPC message per answer: the launcher logs the outcome (status, error and
        // reason codes travel in the result, never a value).
        void runWithRequestId(message.requestId, message.trace, () =>
          handleDispatch(ctx, {
            authorization: message.authorization,
            dpop: message.dpop,
            body: Buffer.from(message.body, 'base64'),
          }),
        ).then((result) => {
          send({ type: 'response', id: message.id, result })
        })
        break
      }
      case 'replay-result':
        replayStore.settle(message.id, message.outcome)
        break
      case 'hook':
        if (__DAUTH_TEST_HOOKS__) runHook(message)
        break
      default:
        break
    }
  }
}

function runHook(message: Extract<LauncherToWorker, { type: 'hook' }>): void {
  const gc = (globalThis as { gc?: () => void }).gc
  switch (message.action) {
    case 'crash':
      crashOnNextDispatch = true
      send({ type: 'hook-result', id: message.id, result: { armed: true } })
      break
    case 'gc':
      gc?.()
      send({ type: 'hook-result', id: message.id, result: { gc: gc !== undefined } })
      break
    case 'memory': {
      // What the worker's resident memory is made of (soak diagnostics): V8 heap, memory
      // V8 has malloc'ed for itself, ArrayBuffers / Buffers outside the heap, live handles.
      const usage = process.memoryUsage()
      const heap = getHeapStatistics()
      const resources: Record<string, number> = {}
      for (const name of process.getActiveResourcesInfo()) {
        resources[name] = (resources[name] ?? 0) + 1
      }
      const result: Record<string, number> = {
        rss: usage.rss,
        heapTotal: usage.heapTotal,
        heapUsed: usage.heapUsed,
        external: usage.external,
        arrayBuffers: usage.arrayBuffers,
        mallocedMemory: heap.malloced_memory,
        peakMallocedMemory: heap.peak_malloced_memory,
        nativeContexts: heap.number_of_native_contexts,
        upstreamAgents: upstreamAgents?.() ?? 0,
      }
      for (const space of getHeapSpaceStatistics()) {
        result[`space_${space.space_name}`] = space.space_size
        result[`spaceUsed_${space.space_name}`] = space.space_used_size
      }
      for (const [name, count] of Object.entries(resources)) result[`resource${name}`] = count
      send({ type: 'hook-result', id: message.id, result })
      break
    }
    case 'read-file': {
      let outcome = 'ok'
      try {
        readFileSync(message.path ?? '')
      } catch (error) {
        outcome = (error as { code?: string }).code ?? 'error'
      }
      send({ type: 'hook-result', id: message.id, result: { outcome } })
      break
    }
    case 'heap-snapshot': {
      gc?.()
      gc?.()
      const stream = getHeapSnapshot()
      stream.on('data', (chunk: Buffer) =>
        send({ type: 'hook-chunk', id: message.id, data: chunk.toString('base64') }),
      )
      stream.on('end', () => send({ type: 'hook-result', id: message.id, result: { done: true } }))
      break
    }
    default:
      break
  }
}

process.once('message', (message: LauncherToWorker) => {
  if (message.type !== 'init') process.exit(64)
  start(message.init).catch((error: unknown) => {
    log('error', 'worker start failed', { error: error instanceof Error ? error.name : 'unknown' })
    process.exit(71)
  })
})
