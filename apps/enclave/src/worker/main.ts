/**
 * Worker entry: bundled by the launcher with esbuild into one file whose SHA-384 is the
 * attested measurement, then run as a separate OS process under Node's permission model.
 * Its only channel to the launcher is the IPC pipe; secrets arrive there (never in env).
 */
import { lookup } from 'node:dns/promises'
import { readFileSync } from 'node:fs'
import { getHeapSnapshot } from 'node:v8'
import { base64url, generateDpopKeyPair } from '@dauth/protocol'
import type { ReplayStore } from '@dauth/protocol'
import type { LauncherToWorker, WorkerInit, WorkerToLauncher } from '../ipc.ts'
import { BoxKeyCache } from '../keys/keyring.ts'
import { AesGcmKeyWrapper } from '../keys/keyWrapper.ts'
import { AuthorizationServerClient } from './asClient.ts'
import { handleDispatch } from './dispatch.ts'
import type { DispatchContext } from './dispatch.ts'
import type { Resolver } from './hosts.ts'
import { DispatchTokenVerifier } from './tokens.ts'

// Replaced at bundle time (esbuild `define`): hooks exist only in a test build, which
// therefore has a different measurement from the production build.
declare const __DAUTH_TEST_HOOKS__: boolean

function send(message: WorkerToLauncher): void {
  process.send?.(message)
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

class IpcReplayStore implements ReplayStore {
  #next = 1
  readonly #pending = new Map<number, (fresh: boolean) => void>()
  checkAndStore(key: string, expiresAtSeconds: number): Promise<boolean> {
    const id = this.#next++
    return new Promise((resolve) => {
      this.#pending.set(id, resolve)
      send({ type: 'replay', id, key, exp: expiresAtSeconds })
    })
  }
  settle(id: number, fresh: boolean): void {
    const resolve = this.#pending.get(id)
    this.#pending.delete(id)
    resolve?.(fresh)
  }
}

const resolver: Resolver = async (hostname) => {
  const answers = await lookup(hostname, { all: true, order: 'ipv4first' })
  return answers.map((a) => ({ address: a.address, family: a.family }))
}

let crashOnNextDispatch = false

async function start(init: WorkerInit): Promise<void> {
  const masterKey = base64url.decode(init.masterKey)
  const wrapper = new AesGcmKeyWrapper(masterKey)
  masterKey.fill(0)
  const keys = new BoxKeyCache(init.keyDir, wrapper)
  await keys.refresh()
  const replayStore = new IpcReplayStore()
  const dpopKey = await generateDpopKeyPair('ES256')
  const as = new AuthorizationServerClient({
    issuer: init.issuer,
    clientId: init.clientId,
    clientJwk: init.clientJwk,
    dpopKey,
  })
  const verifier = new DispatchTokenVerifier({
    issuer: init.issuer,
    audience: init.enclaveUrl,
    jwksUri: async () => (await as.metadata()).jwks_uri,
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
  }

  process.on('message', (message: LauncherToWorker) => {
    switch (message.type) {
      case 'dispatch': {
        if (__DAUTH_TEST_HOOKS__ && crashOnNextDispatch) process.exit(99)
        const started = Date.now()
        void handleDispatch(ctx, {
          authorization: message.authorization,
          dpop: message.dpop,
          body: Buffer.from(message.body, 'base64'),
        }).then((result) => {
          send({ type: 'response', id: message.id, result })
          log('info', 'dispatch', {
            status: result.status,
            ms: Date.now() - started,
            ...(result.error ? { error: result.error } : {}),
            ...(result.detail ? { reason: result.detail } : {}),
          })
        })
        break
      }
      case 'replay-result':
        replayStore.settle(message.id, message.fresh)
        break
      case 'hook':
        if (__DAUTH_TEST_HOOKS__) runHook(message)
        break
      default:
        break
    }
  })
  send({ type: 'ready' })
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
