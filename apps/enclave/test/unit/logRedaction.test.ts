/**
 * pino redaction audit of the launcher (issue #9): a canary in the headers and the body of
 * dispatches (answered, refused, too large, failing) and of other routes reaches no log line;
 * the worker's log messages go through the same redacting logger; and the redact
 * configuration censors every sensitive field name at depths 0 to 2.
 */
import assert from 'node:assert/strict'
import { generateKeyPairSync } from 'node:crypto'
import type { AddressInfo } from 'node:net'
import { describe, it } from 'node:test'
import { pino } from 'pino'
import type { DispatchResult } from '../../src/ipc.ts'
import { EnclaveMetrics } from '../../src/launcher/metrics.ts'
import { createEnclaveServer } from '../../src/launcher/server.ts'
import type { WorkerSupervisor } from '../../src/launcher/supervisor.ts'
import { LOG_REDACT, SENSITIVE_LOG_FIELDS } from '@dauth/protocol/log'

const CANARY = 'canary-51bd2e'

function capture(): { logger: pino.Logger; lines: string[] } {
  const lines: string[] = []
  const logger = pino(
    { base: { component: 'enclave' }, redact: LOG_REDACT },
    { write: (line: string) => lines.push(line) },
  )
  return { logger, lines }
}

describe('log redaction', () => {
  it('censors every sensitive field at depths 0, 1 and 2 (worker log fields included)', () => {
    const { logger, lines } = capture()
    for (const field of SENSITIVE_LOG_FIELDS) {
      logger.info({ [field]: CANARY, a: { [field]: CANARY, b: { [field]: CANARY } } })
      // what the supervisor does with a worker's `log` message
      logger.child({ process: 'worker' }).warn({ msg: 'worker', [field]: CANARY })
    }
    assert.equal(lines.length, SENSITIVE_LOG_FIELDS.length * 2)
    assert.ok(
      !lines.join('').includes(CANARY),
      lines.find((line) => line.includes(CANARY)),
    )
  })

  it('a canary in dispatch headers and bodies reaches no launcher log line', async () => {
    const { logger, lines } = capture()
    const results: (DispatchResult | Error)[] = [
      {
        status: 200,
        headers: { 'content-type': 'application/json' },
        body: `{"body":"${CANARY}"}`,
      },
      {
        status: 401,
        headers: { 'content-type': 'application/json' },
        body: '{"error":"invalid_token"}',
        error: 'invalid_token',
        detail: 'ERR_DPOP_SIGNATURE',
      },
      new Error(`worker failure ${CANARY}`),
    ]
    const supervisor = {
      ready: true,
      dispatch: (input: { body: Buffer }) => {
        assert.ok(input.body.toString().includes(CANARY))
        const next = results.shift()
        return next instanceof Error ? Promise.reject(next) : Promise.resolve(next)
      },
    } as unknown as WorkerSupervisor
    const { privateKey, publicKey } = generateKeyPairSync('ed25519')
    const server = createEnclaveServer({
      supervisor,
      platformKey: { privateKey, publicJwk: publicKey.export({ format: 'jwk' }), kid: 'k' },
      measurement: 'm',
      keyDir: '/nonexistent',
      metrics: new EnclaveMetrics(),
      logger,
      maxRequestBytes: 4096,
      testHooks: false,
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()))
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
    const headers = {
      authorization: `DPoP ${CANARY}-token`,
      dpop: `${CANARY}-proof`,
      cookie: `s=${CANARY}-cookie`,
      'content-type': 'application/json',
    }
    const body = JSON.stringify({
      handle: `${CANARY}-handle`,
      request: { method: 'GET', path: '/', headers: { authorization: CANARY }, body: CANARY },
    })
    const statuses: number[] = []
    try {
      for (const init of [
        { method: 'POST', headers, body },
        { method: 'POST', headers, body },
        { method: 'POST', headers, body },
        { method: 'POST', headers, body: `${CANARY}${'x'.repeat(5000)}` },
      ]) {
        const response = await fetch(`${url}/dispatch`, init)
        await response.arrayBuffer()
        statuses.push(response.status)
      }
      const other = await fetch(`${url}/nothing?token=${CANARY}`, { headers })
      await other.arrayBuffer()
      statuses.push(other.status)
    } finally {
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    }
    assert.deepEqual(statuses, [200, 401, 500, 400, 404])
    const entries = lines.map((line) => JSON.parse(line) as Record<string, unknown>)
    assert.deepEqual(
      entries.map((entry) => entry.msg),
      ['dispatch', 'dispatch', 'request failed'],
    )
    assert.ok(
      !lines.join('').includes(CANARY),
      lines.find((line) => line.includes(CANARY)),
    )
  })
})
