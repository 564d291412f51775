import { createServer } from 'node:http'
import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import type { Logger } from 'pino'
import { base64url, signAttestation } from '@dauth/protocol'
import { wireError } from '../errors.ts'
import type { EnclaveErrorCode } from '../errors.ts'
import { currentBoxPublicKey, readKeyring } from '../keys/keyring.ts'
import type { EnclaveMetrics } from './metrics.ts'
import type { PlatformKey } from './platform.ts'
import { REQUEST_ID_HEADER, requestIdFrom } from '@dauth/protocol/log'
import { startDispatchSpan } from './tracing.ts'
import type { WorkerSupervisor } from './supervisor.ts'

/**
 * The launcher's loopback HTTP API (wire.md "Enclave"): `GET /healthz`, `GET /attestation`,
 * `GET /metrics`, `POST /dispatch` (forwarded to the worker); test hooks under `/__test/`
 * only when enabled. Everything else: `404 {"error":"not_found","error_description":"Not found"}`.
 */
export interface ServerDeps {
  supervisor: WorkerSupervisor
  platformKey: PlatformKey
  measurement: string
  keyDir: string
  /** runs before each dispatch is forwarded (keyring mirror) */
  beforeDispatch?: () => void
  metrics: EnclaveMetrics
  logger: Logger
  maxRequestBytes: number
  testHooks: boolean
  now?: () => number
}

function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body)
  res.writeHead(status, {
    'content-type': 'application/json',
    'cache-control': 'no-store',
    ...headers,
    'content-length': Buffer.byteLength(text),
  })
  res.end(text)
}

function sendError(res: ServerResponse, code: EnclaveErrorCode): void {
  const wire = wireError(code)
  sendJson(res, wire.status, wire.body, wire.headers)
}

class BodyTooLarge extends Error {}

function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'] ?? '0')
    if (declared > limit) {
      reject(new BodyTooLarge())
      return
    }
    const chunks: Buffer[] = []
    let size = 0
    req.on('data', (chunk: Buffer) => {
      size += chunk.length
      if (size > limit) {
        req.removeAllListeners('data')
        req.resume()
        reject(new BodyTooLarge())
        return
      }
      chunks.push(chunk)
    })
    req.on('end', () => resolve(Buffer.concat(chunks)))
    req.on('error', reject)
  })
}

const NONCE = /^[A-Za-z0-9_-]+$/

export function createEnclaveServer(deps: ServerDeps): Server {
  const handler = async (
    req: IncomingMessage,
    res: ServerResponse,
    reqId: string,
  ): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://enclave.invalid')
    const route = `${req.method ?? ''} ${url.pathname}`
    switch (route) {
      case 'GET /healthz':
        if (deps.supervisor.ready) sendJson(res, 200, { status: 'ok' })
        else sendJson(res, 503, { status: 'unavailable' })
        return
      case 'GET /metrics': {
        const text = deps.metrics.render()
        res.writeHead(200, {
          'content-type': 'text/plain; version=0.0.4; charset=utf-8',
          'content-length': Buffer.byteLength(text),
        })
        res.end(text)
        return
      }
      case 'GET /attestation': {
        const nonces = url.searchParams.getAll('nonce')
        const nonce = nonces[0]
        let bytes = 0
        try {
          bytes = nonce !== undefined && NONCE.test(nonce) ? base64url.decode(nonce).length : 0
        } catch {
          bytes = 0
        }
        if (nonces.length !== 1 || nonce === undefined || bytes < 16 || bytes > 64) {
          sendError(res, 'invalid_request')
          return
        }
        const box = currentBoxPublicKey(readKeyring(deps.keyDir))
        const attestation = await signAttestation(
          {
            v: 1,
            measurement: deps.measurement,
            enclave_pk: base64url.encode(box.publicKey),
            kid: box.kid,
            nonce,
            iat: deps.now?.() ?? Math.floor(Date.now() / 1000),
            debug: false,
          },
          { privateKey: deps.platformKey.privateKey, kid: deps.platformKey.kid },
        )
        sendJson(res, 200, { attestation })
        return
      }
      case 'POST /dispatch': {
        const started = process.hrtime.bigint()
        const span = startDispatchSpan(req.headers, reqId)
        let body: Buffer
        try {
          body = await readBody(req, deps.maxRequestBytes)
        } catch (error) {
          if (error instanceof BodyTooLarge) {
            res.setHeader('connection', 'close')
            sendError(res, 'invalid_request')
            deps.metrics.observeDispatch(400, Number(process.hrtime.bigint() - started) / 1e9)
            span.end(400, 'invalid_request')
            return
          }
          span.end(500)
          throw error
        }
        deps.beforeDispatch?.()
        let result: Awaited<ReturnType<typeof deps.supervisor.dispatch>>
        try {
          result = await deps.supervisor.dispatch({
            authorization: req.headersDistinct.authorization ?? [],
            dpop: req.headersDistinct.dpop ?? [],
            body,
            requestId: reqId,
            trace: span.traceHeaders,
          })
        } catch (error) {
          span.end(500)
          throw error
        }
        const seconds = Number(process.hrtime.bigint() - started) / 1e9
        deps.metrics.observeDispatch(result.status, seconds)
        span.end(result.status, result.error)
        if (result.error === 'temporarily_unavailable' && result.detail === 'worker_exit') {
          deps.logger.warn({ msg: 'dispatch failed: worker exited', reqId, status: result.status })
        } else {
          deps.logger.info({
            msg: 'dispatch',
            reqId,
            status: result.status,
            ms: Math.round(seconds * 1000),
            ...(result.error ? { error: result.error } : {}),
            ...(result.detail ? { reason: result.detail } : {}),
          })
        }
        res.writeHead(result.status, {
          ...result.headers,
          'content-length': Buffer.byteLength(result.body),
        })
        res.end(result.body)
        return
      }
      default:
        break
    }
    if (deps.testHooks && req.method === 'POST' && url.pathname.startsWith('/__test/')) {
      await testHook(deps, url.pathname.slice('/__test/'.length), req, res)
      return
    }
    sendError(res, 'not_found')
  }

  return createServer({ requestTimeout: 60_000 }, (req, res) => {
    const reqId = requestIdFrom(req.headers[REQUEST_ID_HEADER])
    // Echoed on every answer (writeHead merges it with each route's own headers).
    res.setHeader(REQUEST_ID_HEADER, reqId)
    handler(req, res, reqId).catch(() => {
      deps.logger.error({ msg: 'request failed', reqId, route: req.method })
      if (!res.headersSent) sendError(res, 'server_error')
      else res.destroy()
    })
  })
}

async function testHook(
  deps: ServerDeps,
  name: string,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const raw = await readBody(req, 64 * 1024)
  const input = (raw.length ? JSON.parse(raw.toString('utf8')) : {}) as { path?: string }
  switch (name) {
    case 'worker':
      sendJson(res, 200, { pid: deps.supervisor.pid ?? null })
      return
    case 'crash-next-dispatch':
    case 'read-file':
    case 'gc':
    case 'memory': {
      const action = name === 'crash-next-dispatch' ? 'crash' : name
      const { result } = await deps.supervisor.hook(action, input.path)
      sendJson(res, 200, result)
      return
    }
    case 'heap-snapshot': {
      const { result, data } = await deps.supervisor.hook('heap-snapshot')
      const { writeFileSync } = await import('node:fs')
      if (typeof input.path === 'string') writeFileSync(input.path, data, { mode: 0o600 })
      sendJson(res, 200, { ...result, bytes: data.length })
      return
    }
    default:
      sendError(res, 'not_found')
  }
}
