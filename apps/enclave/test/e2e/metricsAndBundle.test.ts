/**
 * `GET /metrics` (exact metric names, types and counts after known traffic) and the
 * measured-bundle guard: the launcher's supervisor refuses to spawn a worker whose bundle on
 * disk no longer hashes to the attested measurement, at start and on a restart.
 */
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import { after, before, describe, it } from 'node:test'
import { pino } from 'pino'
import { MemoryReplayStore, base64url, createDpopProof } from '@dauth/protocol'
import { startEnclave } from '../../src/index.ts'
import type { RunningEnclave } from '../../src/index.ts'
import type { KeyWrapperConfig } from '../../src/keys/keyWrapper.ts'
import { createKeyWrapper } from '../../src/keys/keyWrapper.ts'
import { ensureKeyring } from '../../src/keys/keyring.ts'
import { buildWorkerBundle } from '../../src/launcher/bundle.ts'
import { EnclaveMetrics } from '../../src/launcher/metrics.ts'
import { WorkerSupervisor } from '../../src/launcher/supervisor.ts'
import {
  addConnection,
  attestedKey,
  dispatch,
  dispatchToken,
  makeCaller,
} from '../fixtures/client.ts'
import type { EnclaveClientKey, StubAs } from '../fixtures/stubAs.ts'
import { makeEnclaveClientKey, startStubAs } from '../fixtures/stubAs.ts'
import { makeTestPki } from '../fixtures/pki.ts'
import type { TestPki } from '../fixtures/pki.ts'
import { startTestUpstream } from '../fixtures/upstream.ts'
import type { TestUpstream } from '../fixtures/upstream.ts'

let dir: string
let pki: TestPki
let upstream: TestUpstream
let clientKey: EnclaveClientKey
let as: StubAs

function sink(): { logger: pino.Logger; text: () => string } {
  let text = ''
  const logger = pino(
    { base: { component: 'enclave' } },
    new Writable({
      write(chunk: Buffer, _enc, cb) {
        text += chunk.toString('utf8')
        cb()
      },
    }),
  )
  return { logger, text: () => text }
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'enclave-metrics-'))
  pki = makeTestPki(dir)
  upstream = await startTestUpstream(pki)
  clientKey = await makeEnclaveClientKey()
  as = await startStubAs(clientKey)
})

after(async () => {
  await as?.close()
  await upstream?.close()
  rmSync(dir, { recursive: true, force: true })
})

describe('GET /metrics', () => {
  let enclave: RunningEnclave
  const stateDir = (): string => join(dir, 'state')

  before(async () => {
    const keyFile = join(dir, 'enclave.jwk.json')
    writeFileSync(keyFile, JSON.stringify(clientKey.privateJwk), { mode: 0o600 })
    enclave = await startEnclave(
      {
        stateDir: stateDir(),
        issuer: as.issuer,
        port: 0,
        clientKeyFile: keyFile,
        extraCaFile: pki.caFile,
        devUpstreams: true,
      },
      { logger: sink().logger },
    )
  })
  after(async () => {
    await enclave?.close()
  })

  it('exposes exactly the documented metrics with the counts of the traffic seen', async () => {
    const caller = await makeCaller(as, enclave.url, enclave.url)
    const record = addConnection(as, {
      sub: 'alice',
      secret: new TextEncoder().encode(`metrics-${randomBytes(8).toString('hex')}`),
      inject: { type: 'bearer' },
      allowedHosts: [upstream.host],
      recipient: await attestedKey(enclave.url, stateDir()),
    })
    const token = await dispatchToken(caller, 'alice', { demo: record.handle })
    const proof = await createDpopProof(caller.key, {
      htm: 'POST',
      htu: `${enclave.url}/dispatch`,
      accessToken: token,
    })
    const body = { handle: record.handle, request: { method: 'GET', path: '/user' } }
    assert.equal((await dispatch(caller, token, body, { proof })).status, 200)
    assert.equal((await dispatch(caller, token, body, { proof })).status, 401) // replayed
    assert.equal((await dispatch(caller, token, '{', {})).status, 400)

    const res = await fetch(`${enclave.url}/metrics`)
    assert.equal(res.status, 200)
    assert.equal(res.headers.get('content-type'), 'text/plain; version=0.0.4; charset=utf-8')
    const text = await res.text()
    const lines = text.trimEnd().split('\n')

    const types = lines.filter((l) => l.startsWith('# TYPE ')).map((l) => l.slice(7))
    assert.deepEqual(types, [
      'dauth_enclave_dispatch_total counter',
      'dauth_enclave_dispatch_duration_seconds histogram',
      'dauth_enclave_worker_restarts_total counter',
      'dauth_enclave_worker_up gauge',
    ])
    const samples = lines.filter((l) => !l.startsWith('#'))
    const names = [...new Set(samples.map((l) => l.replace(/[{ ].*$/, '')))]
    assert.deepEqual(names, [
      'dauth_enclave_dispatch_total',
      'dauth_enclave_dispatch_duration_seconds_bucket',
      'dauth_enclave_dispatch_duration_seconds_sum',
      'dauth_enclave_dispatch_duration_seconds_count',
      'dauth_enclave_worker_restarts_total',
      'dauth_enclave_worker_up',
    ])
    assert.deepEqual(
      samples.filter((l) => l.startsWith('dauth_enclave_dispatch_total')),
      [
        'dauth_enclave_dispatch_total{status="200"} 1',
        'dauth_enclave_dispatch_total{status="400"} 1',
        'dauth_enclave_dispatch_total{status="401"} 1',
      ],
    )
    const buckets = samples
      .filter((l) => l.startsWith('dauth_enclave_dispatch_duration_seconds_bucket'))
      .map((l) => /le="([^"]+)"/.exec(l)?.[1])
    assert.deepEqual(buckets, [
      '0.005',
      '0.01',
      '0.025',
      '0.05',
      '0.1',
      '0.25',
      '0.5',
      '1',
      '2.5',
      '5',
      '10',
      '30',
      '+Inf',
    ])
    assert.ok(samples.includes('dauth_enclave_dispatch_duration_seconds_bucket{le="+Inf"} 3'))
    assert.ok(samples.includes('dauth_enclave_dispatch_duration_seconds_count 3'))
    assert.ok(samples.includes('dauth_enclave_worker_restarts_total 0'))
    assert.ok(samples.includes('dauth_enclave_worker_up 1'))
    // nothing request-derived in the exposition
    assert.equal(text.includes(record.handle), false)
    assert.equal(text.includes(token), false)
  })
})

describe('measured worker bundle', () => {
  async function supervisorFor(name: string): Promise<{
    supervisor: WorkerSupervisor
    bundleFile: string
    logs: () => string
    metrics: EnclaveMetrics
  }> {
    const root = join(dir, name)
    const keyDir = join(root, 'keys')
    const keyWrapper: KeyWrapperConfig = {
      type: 'A256GCM',
      masterKey: base64url.encode(randomBytes(32)),
    }
    await ensureKeyring(keyDir, createKeyWrapper(keyWrapper))
    const bundle = await buildWorkerBundle(join(root, 'worker.cjs'), { testHooks: false })
    const { logger, text } = sink()
    const metrics = new EnclaveMetrics()
    const supervisor = new WorkerSupervisor({
      bundleFile: bundle.file,
      measurement: bundle.measurement,
      keyDir,
      init: {
        issuer: as.issuer,
        enclaveUrl: 'http://127.0.0.1:1',
        keyDir,
        keyWrapper,
        clientJwk: clientKey.privateJwk,
        clientId: 'dauth-enclave',
        devUpstreams: false,
        upstreamTimeoutMs: 1_000,
        maxResponseBytes: 1024,
        maxRequestBytes: 1024,
      },
      testHooks: false,
      logger,
      metrics,
      replayStore: new MemoryReplayStore(),
    })
    return { supervisor, bundleFile: bundle.file, logs: text, metrics }
  }

  it('refuses to start a worker whose bundle changed after it was measured (no process)', async () => {
    const { supervisor, bundleFile, logs } = await supervisorFor('changed-at-start')
    appendFileSync(bundleFile, '\n// tampered\n')
    await assert.rejects(supervisor.start(), {
      message: 'enclave worker bundle does not match its measurement',
    })
    assert.equal(supervisor.pid, undefined)
    assert.equal(supervisor.ready, false)
    assert.match(logs(), /"msg":"worker bundle changed on disk; refusing to start it"/)
    await supervisor.close()
  })

  it('starts the unchanged bundle, and does not restart it once it changed on disk', async () => {
    const { supervisor, bundleFile, logs, metrics } = await supervisorFor('changed-at-restart')
    await supervisor.start() // positive control: the measured bundle runs
    const pid = supervisor.pid
    assert.ok(pid)
    assert.equal(supervisor.ready, true)
    appendFileSync(bundleFile, '\n// tampered\n')
    process.kill(pid, 'SIGKILL')
    for (let i = 0; i < 200 && !logs().includes('refusing to start it'); i++)
      await new Promise((r) => setTimeout(r, 25))
    assert.match(logs(), /"msg":"worker bundle changed on disk; refusing to start it"/)
    assert.equal(supervisor.pid, undefined)
    assert.equal(supervisor.ready, false)
    assert.equal(metrics.workerUp, false)
    assert.equal(metrics.workerRestarts, 1)
    await supervisor.close()
  })
})
