import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { DispatchRefusal } from '../../src/errors.ts'
import { callUpstream } from '../../src/worker/upstream.ts'
import { makeTestPki } from '../fixtures/pki.ts'
import type { TestPki } from '../fixtures/pki.ts'
import { startTestUpstream } from '../fixtures/upstream.ts'
import type { TestUpstream } from '../fixtures/upstream.ts'

let dir: string
let pki: TestPki
let upstream: TestUpstream

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'enclave-upstream-'))
  pki = makeTestPki(dir)
  upstream = await startTestUpstream(pki)
})
after(async () => {
  await upstream.close()
  rmSync(dir, { recursive: true, force: true })
})

const base = () => ({
  port: upstream.port,
  address: { address: '127.0.0.1', family: 4 },
  method: 'GET',
  pathAndQuery: '/user',
  headers: [['authorization', 'Bearer t']] as [string, string][],
  extraCa: pki.caPem,
  timeoutMs: 2000,
  maxResponseBytes: 1024 * 1024,
})

describe('pinned HTTPS connection', () => {
  it('connects to the checked address without a second DNS lookup (pinned.test does not resolve)', async () => {
    const res = await callUpstream({ ...base(), hostname: 'pinned.test' })
    assert.equal(res.status, 200)
    assert.equal(JSON.parse(res.body.toString()).host, `pinned.test:${upstream.port}`)
  })

  it('verifies the certificate against the host name, not the IP', async () => {
    await assert.rejects(
      callUpstream({ ...base(), hostname: 'other.test' }),
      (e: unknown) =>
        e instanceof DispatchRefusal &&
        e.code === 'upstream_unreachable' &&
        e.detail === 'ERR_TLS_CERT_ALTNAME_INVALID',
    )
  })

  it('trusts the test CA only when it is passed as the extra CA', async () => {
    const { extraCa: _drop, ...noCa } = base()
    await assert.rejects(
      callUpstream({ ...noCa, hostname: 'localhost' }),
      (e: unknown) => e instanceof DispatchRefusal && e.code === 'upstream_unreachable',
    )
  })

  it('does not follow redirects', async () => {
    const res = await callUpstream({
      ...base(),
      hostname: 'localhost',
      pathAndQuery: '/redirect?to=https%3A%2F%2Fevil.example%2F',
    })
    assert.equal(res.status, 302)
    assert.equal(res.headers.location, 'https://evil.example/')
  })
})
