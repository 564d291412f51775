/**
 * `DAUTH_ENCLAVE_HOST` on the real `src/main.ts`: loopback by default (unreachable on the
 * machine's other addresses), every interface with `0.0.0.0` — how a container is reached.
 */
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { networkInterfaces, tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { spawnEnclave } from '../fixtures/enclaveProcess.ts'
import { makeEnclaveClientKey } from '../fixtures/stubAs.ts'

/** An IPv4 address of this machine that is not loopback, if it has one. */
const external = Object.values(networkInterfaces())
  .flat()
  .find((a) => a !== undefined && a.family === 'IPv4' && !a.internal)?.address

let dir: string
let env: Record<string, string>

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'enclave-host-'))
  const keyFile = join(dir, 'enclave.jwk.json')
  writeFileSync(keyFile, JSON.stringify((await makeEnclaveClientKey()).privateJwk), {
    mode: 0o600,
  })
  env = {
    DAUTH_STATE_DIR: join(dir, 'state'),
    // Nothing listens there: the launcher and its health check do not need the AS.
    DAUTH_ISSUER: 'http://localhost:1',
    DAUTH_ENCLAVE_CLIENT_KEY_FILE: keyFile,
  }
})
after(() => rmSync(dir, { recursive: true, force: true }))

const healthz = async (url: string): Promise<number | string> =>
  fetch(`${url}/healthz`).then(
    (res) => res.status,
    (error: unknown) =>
      ((error as { cause?: { code?: string } }).cause?.code ?? 'failed') satisfies string,
  )

describe('listen address', {
  skip: external === undefined && 'no non-loopback IPv4 address',
}, () => {
  it('default: 127.0.0.1 only, refused on the other addresses', async () => {
    const enclave = await spawnEnclave(env)
    try {
      const port = new URL(enclave.url).port
      assert.equal(enclave.url, `http://127.0.0.1:${port}`)
      assert.equal(enclave.enclaveUrl, enclave.url)
      assert.equal(await healthz(enclave.url), 200)
      assert.equal(await healthz(`http://${external}:${port}`), 'ECONNREFUSED')
    } finally {
      await enclave.stop()
    }
  })

  it('DAUTH_ENCLAVE_HOST=0.0.0.0 with DAUTH_ENCLAVE_URL: reachable on every address', async () => {
    const enclave = await spawnEnclave({
      ...env,
      DAUTH_ENCLAVE_HOST: '0.0.0.0',
      DAUTH_ENCLAVE_URL: 'http://enclave.internal:4200',
    })
    try {
      const port = new URL(enclave.url).port
      assert.equal(enclave.url, `http://0.0.0.0:${port}`)
      assert.equal(enclave.enclaveUrl, 'http://enclave.internal:4200')
      assert.equal(await healthz(`http://${external}:${port}`), 200)
      assert.equal(await healthz(`http://127.0.0.1:${port}`), 200)
    } finally {
      await enclave.stop()
    }
  })
})
