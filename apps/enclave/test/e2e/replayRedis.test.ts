/**
 * DPoP `jti` replay across enclave instances (THREATS.md: a captured dispatch proof replayed
 * at another instance). With `REDIS_URL` every launcher checks `SET <prefix><jkt>:<jti> NX`
 * in the shared Redis; when Redis cannot answer the dispatch fails closed with 503 and the
 * upstream is never contacted. Runs against the real Redis at 127.0.0.1:6379 with a unique
 * key prefix.
 */
import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import { after, before, describe, it } from 'node:test'
import { Redis } from 'ioredis'
import { decodeJwt } from 'jose'
import { pino } from 'pino'
import type { Logger } from 'pino'
import { createDpopProof } from '@dauth/protocol'
import { startEnclave } from '../../src/index.ts'
import type { EnclaveConfig, RunningEnclave } from '../../src/index.ts'
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
import type { StoredRecord, StubAs } from '../fixtures/stubAs.ts'
import { startTestUpstream } from '../fixtures/upstream.ts'
import type { TestUpstream } from '../fixtures/upstream.ts'

const REDIS_URL = 'redis://127.0.0.1:6379'
const PREFIX = `dauth:enclave:test:${randomUUID()}:`
/** the public URL both instances serve (as behind a load balancer): `aud` and DPoP `htu` */
const ENCLAVE_URL = 'https://enclave.dauth.test'
const SECRET = new TextEncoder().encode(`replay-secret-${randomUUID()}`)
const INVALID_TOKEN = {
  error: 'invalid_token',
  error_description: 'The dispatch token or its DPoP proof is invalid',
}
const UNAVAILABLE = {
  error: 'temporarily_unavailable',
  error_description: 'The enclave is temporarily unavailable',
}

let dir: string
let upstream: TestUpstream
let as: StubAs
let redis: Redis
let base: EnclaveConfig
const enclaves: RunningEnclave[] = []
const logs: string[] = []

function logger(index: number): Logger {
  logs[index] = ''
  return pino(
    { base: { component: 'enclave' } },
    new Writable({
      write(chunk: Buffer, _enc, cb) {
        logs[index] += chunk.toString('utf8')
        cb()
      },
    }),
  )
}

async function start(config: Partial<EnclaveConfig>): Promise<RunningEnclave> {
  const enclave = await startEnclave({ ...base, ...config }, { logger: logger(enclaves.length) })
  enclaves.push(enclave)
  return enclave
}

async function closedPort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()))
  const { port } = server.address() as AddressInfo
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}

async function connection(enclave: RunningEnclave, stateDir: string): Promise<StoredRecord> {
  return addConnection(as, {
    sub: 'alice',
    secret: SECRET,
    inject: { type: 'bearer' },
    allowedHosts: [upstream.host],
    recipient: await attestedKey(enclave.url, stateDir),
  })
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'enclave-replay-'))
  const pki = makeTestPki(dir)
  upstream = await startTestUpstream(pki)
  const clientKey = await makeEnclaveClientKey()
  as = await startStubAs(clientKey)
  const keyFile = join(dir, 'enclave.jwk.json')
  writeFileSync(keyFile, JSON.stringify(clientKey.privateJwk), { mode: 0o600 })
  base = {
    stateDir: join(dir, 'state'),
    issuer: as.issuer,
    port: 0,
    enclaveUrl: ENCLAVE_URL,
    clientKeyFile: keyFile,
    extraCaFile: pki.caFile,
    devUpstreams: true,
  }
  redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 })
})

after(async () => {
  for (const enclave of enclaves) await enclave.close()
  const keys = await redis.keys(`${PREFIX}*`)
  if (keys.length > 0) await redis.del(...keys)
  redis.disconnect()
  await as?.close()
  await upstream?.close()
  rmSync(dir, { recursive: true, force: true })
})

describe('replay store shared through Redis (REDIS_URL)', () => {
  let a: RunningEnclave
  let b: RunningEnclave
  let callerA: Caller
  let callerB: Caller

  before(async () => {
    a = await start({ redisUrl: REDIS_URL, replayKeyPrefix: PREFIX })
    b = await start({ redisUrl: REDIS_URL, replayKeyPrefix: PREFIX })
    callerA = await makeCaller(as, a.url, ENCLAVE_URL)
    callerB = { ...callerA, url: b.url } // same client key, other instance
  })

  it('a proof accepted by one instance is refused by a second instance sharing Redis', async () => {
    const record = await connection(a, base.stateDir)
    const token = await dispatchToken(callerA, 'alice', { demo: record.handle })
    const proof = await createDpopProof(callerA.key, {
      htm: 'POST',
      htu: `${ENCLAVE_URL}/dispatch`,
      accessToken: token,
    })
    const body = { handle: record.handle, request: { method: 'GET', path: '/user' } }
    const before = upstream.requests.length

    const first = await dispatch(callerA, token, body, { proof })
    assert.equal(first.status, 200)
    assert.equal(JSON.parse(first.text).status, 200)

    // the jti is recorded under the configured prefix, with an expiry
    const key = `${PREFIX}${callerA.key.jkt}:${String(decodeJwt(proof).jti)}`
    assert.equal(await redis.get(key), '1')
    const ttl = await redis.ttl(key)
    assert.ok(ttl > 0 && ttl <= 400, `ttl ${ttl}`)

    const replayed = await dispatch(callerB, token, body, { proof })
    assert.equal(replayed.status, 401)
    assert.deepEqual(replayed.json, INVALID_TOKEN)
    assert.equal(
      replayed.headers.get('www-authenticate'),
      'DPoP error="invalid_token", algs="ES256 EdDSA"',
    )
    // and at the instance that accepted it first
    const again = await dispatch(callerA, token, body, { proof })
    assert.equal(again.status, 401)
    assert.deepEqual(again.json, INVALID_TOKEN)
    assert.equal(upstream.requests.length, before + 1, 'only the first use reached the upstream')

    // positive control: a fresh proof with the same token works at the second instance
    const fresh = await dispatch(callerB, token, body)
    assert.equal(fresh.status, 200)
    assert.equal(upstream.requests.length, before + 2)
  })

  it('logs which store is used, never the Redis URL', () => {
    assert.match(logs[0] ?? '', /"msg":"listening".*"replay_store":"redis"/)
    assert.match(logs[0] ?? '', /"msg":"replay store \(redis\) ready"/)
    assert.equal((logs[0] ?? '').includes('redis://'), false)
  })
})

describe('Redis unreachable', () => {
  it('fails closed: 503 temporarily_unavailable, no upstream connection, no password in logs', async () => {
    const port = await closedPort()
    const index = enclaves.length
    const enclave = await start({
      redisUrl: `redis://:pw-${randomUUID()}@127.0.0.1:${port}`,
      replayKeyPrefix: PREFIX,
    })
    const health = await fetch(`${enclave.url}/healthz`)
    assert.equal(health.status, 200)
    const caller = await makeCaller(as, enclave.url, ENCLAVE_URL)
    const record = await connection(enclave, base.stateDir)
    const connectionsBefore = upstream.connections()
    const requestsBefore = upstream.requests.length
    const token = await dispatchToken(caller, 'alice', { demo: record.handle })
    const answer = await dispatch(caller, token, {
      handle: record.handle,
      request: { method: 'GET', path: '/user' },
    })
    assert.equal(answer.status, 503)
    assert.deepEqual(answer.json, UNAVAILABLE)
    assert.equal(answer.headers.get('www-authenticate'), null)
    assert.equal(upstream.connections(), connectionsBefore)
    assert.equal(upstream.requests.length, requestsBefore)
    const log = logs[index] ?? ''
    assert.match(log, /"msg":"replay store \(redis\) unreachable","error":"ECONNREFUSED"/)
    assert.equal(log.includes(':pw-'), false)
  })
})
