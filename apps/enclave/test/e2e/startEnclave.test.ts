/**
 * The programmatic API (`startEnclave`) without dev upstreams and without test hooks: the
 * production posture. localhost upstreams are refused, test hooks do not exist, and the
 * production bundle has a different measurement from the test build.
 */
import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import { after, before, describe, it } from 'node:test'
import { pino } from 'pino'
import { sha384Base64url } from '@dauth/protocol'
import { startEnclave } from '../../src/index.ts'
import { buildWorkerBundle } from '../../src/launcher/bundle.ts'
import type { RunningEnclave } from '../../src/index.ts'
import {
  addConnection,
  attestedKey,
  dispatch,
  dispatchToken,
  makeCaller,
} from '../fixtures/client.ts'
import type { Caller } from '../fixtures/client.ts'
import { makeTestPki } from '../fixtures/pki.ts'
import { makeEnclaveClientKey, startStubAs } from '../fixtures/stubAs.ts'
import type { StubAs } from '../fixtures/stubAs.ts'
import { startTestUpstream } from '../fixtures/upstream.ts'
import type { TestUpstream } from '../fixtures/upstream.ts'

let dir: string
let upstream: TestUpstream
let as: StubAs
let enclave: RunningEnclave
let caller: Caller
let stateDir: string
let logs = ''

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'enclave-prod-'))
  const pki = makeTestPki(dir)
  upstream = await startTestUpstream(pki)
  const clientKey = await makeEnclaveClientKey()
  as = await startStubAs(clientKey)
  stateDir = join(dir, 'state')
  const keyFile = join(dir, 'enclave.jwk.json')
  writeFileSync(keyFile, JSON.stringify(clientKey.privateJwk), { mode: 0o600 })
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      logs += chunk.toString('utf8')
      cb()
    },
  })
  enclave = await startEnclave(
    { stateDir, issuer: as.issuer, port: 0, clientKeyFile: keyFile, extraCaFile: pki.caFile },
    { logger: pino({ base: { component: 'enclave' } }, sink) },
  )
  caller = await makeCaller(as, enclave.url, enclave.url)
})

after(async () => {
  await enclave?.close()
  await as?.close()
  await upstream?.close()
  rmSync(dir, { recursive: true, force: true })
})

describe('startEnclave (no dev upstreams, no test hooks)', () => {
  it('listens on loopback and reports ready', async () => {
    assert.match(enclave.url, /^http:\/\/127\.0\.0\.1:\d+$/)
    const res = await fetch(`${enclave.url}/healthz`)
    assert.deepEqual([res.status, await res.json()], [200, { status: 'ok' }])
    assert.match(logs, /"msg":"listening"/)
  })

  it('writes attestation.json with the platform key and the running measurement', () => {
    const pins = JSON.parse(readFileSync(join(stateDir, 'attestation.json'), 'utf8'))
    assert.deepEqual(pins, {
      platform_jwk: enclave.platformJwk,
      measurements: [enclave.measurement],
    })
    assert.deepEqual(Object.keys(enclave.platformJwk).sort(), ['crv', 'kid', 'kty', 'x'])
  })

  it('refuses localhost upstreams without the dev flag; the upstream sees zero connections', async () => {
    const recipient = await attestedKey(enclave.url, stateDir)
    for (const allowed of [upstream.host, 'localhost', `127.0.0.1:${upstream.port}`]) {
      const record = addConnection(as, {
        sub: 'alice',
        secret: new TextEncoder().encode('prod-secret'),
        inject: { type: 'bearer' },
        allowedHosts: [allowed],
        recipient,
      })
      const token = await dispatchToken(caller, 'alice', { demo: record.handle })
      const answer = await dispatch(caller, token, {
        handle: record.handle,
        request: { method: 'GET', path: '/user' },
      })
      assert.equal(answer.status, 403, allowed)
      assert.deepEqual(answer.json, {
        error: 'host_not_allowed',
        error_description: 'The upstream host is not allowed for this connection',
      })
    }
    assert.equal(upstream.connections(), 0)
  })

  it('has no test hooks', async () => {
    for (const hook of [
      'crash-next-dispatch',
      'heap-snapshot',
      'read-file',
      'worker',
      'gc',
      'memory',
    ]) {
      const res = await fetch(`${enclave.url}/__test/${hook}`, { method: 'POST', body: '{}' })
      assert.equal(res.status, 404, hook)
      assert.deepEqual(await res.json(), { error: 'not_found', error_description: 'Not found' })
    }
  })

  it('the measurement is reproducible, and the hooks build differs and is the only one with hook code', async () => {
    const prod = await buildWorkerBundle(join(dir, 'scratch', 'prod.cjs'), { testHooks: false })
    const hooks = await buildWorkerBundle(join(dir, 'scratch', 'hooks.cjs'), { testHooks: true })
    assert.equal(prod.measurement, enclave.measurement)
    assert.equal(sha384Base64url(readFileSync(prod.file)), prod.measurement)
    assert.notEqual(hooks.measurement, prod.measurement)
    assert.equal(readFileSync(prod.file, 'utf8').includes('getHeapSnapshot'), false)
    assert.equal(readFileSync(hooks.file, 'utf8').includes('getHeapSnapshot'), true)
  })

  it('fails closed with 503 temporarily_unavailable when the AS is unreachable', async () => {
    const recipient = await attestedKey(enclave.url, stateDir)
    const record = addConnection(as, {
      sub: 'alice',
      secret: new TextEncoder().encode('prod-secret'),
      inject: { type: 'bearer' },
      allowedHosts: ['api.example.com'],
      recipient,
    })
    const token = await dispatchToken(caller, 'alice', { demo: record.handle })
    await as.close()
    const answer = await dispatch(caller, token, {
      handle: record.handle,
      request: { method: 'GET', path: '/user' },
    })
    assert.equal(answer.status, 503)
    assert.deepEqual(answer.json, {
      error: 'temporarily_unavailable',
      error_description: 'The enclave is temporarily unavailable',
    })
  })

  it('close() stops the worker and the server', async () => {
    const pid = enclave.workerPid()
    assert.ok(pid)
    await enclave.close()
    await assert.rejects(fetch(`${enclave.url}/healthz`))
    assert.throws(() => process.kill(pid, 0))
  })
})
