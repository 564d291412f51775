import assert from 'node:assert/strict'
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { ConfigurationError } from '@dauth/sdk-client'
import {
  FileTokenStore,
  loadAttestationPolicy,
  startLoopbackRedirectListener,
} from '@dauth/sdk-client/node'

describe('node subpath', () => {
  let dir: string
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'dauth-sdk-client-'))
  })
  after(() => rm(dir, { recursive: true, force: true }))

  it('FileTokenStore keeps tokens per issuer + resource in a 0600 file', async () => {
    const path = join(dir, 'nested', 'tokens.json')
    const store = new FileTokenStore(path)
    const a = { issuer: 'https://as.example', resource: 'https://r1.example/mcp' }
    const b = { issuer: 'https://as.example', resource: 'https://r2.example/mcp' }
    await store.set(a, {
      accessToken: 'at-a',
      tokenType: 'DPoP',
      refreshToken: 'rt-a',
      dpopJkt: 'jkt',
    })
    await store.set(b, { accessToken: 'at-b', tokenType: 'Bearer' })
    assert.equal((await stat(path)).mode & 0o777, 0o600)
    assert.equal((await stat(join(dir, 'nested'))).mode & 0o777, 0o700)
    const reopened = new FileTokenStore(path)
    assert.deepEqual(await reopened.get(a), {
      accessToken: 'at-a',
      tokenType: 'DPoP',
      refreshToken: 'rt-a',
      dpopJkt: 'jkt',
    })
    assert.equal((await reopened.get(b))?.accessToken, 'at-b')
    await reopened.delete(a)
    assert.equal(await reopened.get(a), undefined)
    assert.equal((await stat(path)).mode & 0o777, 0o600)
    assert.ok(!(await readFile(path, 'utf8')).includes('at-a'))
  })

  it('loadAttestationPolicy reads .dauth/attestation.json', async () => {
    const path = join(dir, 'attestation.json')
    const jwk = { kty: 'OKP', crv: 'Ed25519', x: 'AAAA' }
    await writeFile(path, JSON.stringify({ platform_jwk: jwk, measurements: ['m1'] }))
    assert.deepEqual(await loadAttestationPolicy(path), { platformJwk: jwk, measurements: ['m1'] })
    await writeFile(
      path,
      JSON.stringify({ platform_jwk: { ...jwk, d: 'secret' }, measurements: ['m1'] }),
    )
    await assert.rejects(loadAttestationPolicy(path), ConfigurationError)
    await writeFile(path, JSON.stringify({ platform_jwk: jwk, measurements: [] }))
    await assert.rejects(loadAttestationPolicy(path), ConfigurationError)
    await assert.rejects(loadAttestationPolicy(join(dir, 'missing.json')), ConfigurationError)
  })

  it('the loopback listener resolves with the first callback only and answers 404 elsewhere', async () => {
    const listener = await startLoopbackRedirectListener({ path: '/cb' })
    assert.match(listener.redirectUri, /^http:\/\/127\.0\.0\.1:\d+\/cb$/)
    const other = await fetch(listener.redirectUri.replace('/cb', '/other'))
    assert.equal(other.status, 404)
    await other.text()
    const ok = await fetch(`${listener.redirectUri}?code=c&state=s&iss=x`)
    assert.equal(ok.status, 200)
    await ok.text()
    const url = await listener.waitForRedirect()
    assert.equal(url.href, `${listener.redirectUri}?code=c&state=s&iss=x`)
    await listener.close()
  })
})
