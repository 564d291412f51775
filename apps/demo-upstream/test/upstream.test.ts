import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { request } from 'node:https'
import { after, before, test } from 'node:test'
import { issueDevCertificates } from '@dauth/devkit'
import { type DemoUpstream, startDemoUpstream } from '../src/index.ts'

let upstream: DemoUpstream
let ca: string
const logLines: string[] = []

before(async () => {
  const certs = await issueDevCertificates()
  ca = certs.caCertPem
  upstream = await startDemoUpstream({
    port: 0,
    certPem: certs.leafCertPem,
    keyPem: certs.leafKeyPem,
    log: (entry) => logLines.push(JSON.stringify(entry)),
  })
})
after(() => upstream.close())

function get(
  path: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(`${upstream.url}${path}`, { ca, headers }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => (body += chunk))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }))
    })
    req.on('error', reject)
    req.end()
  })
}

const sha = (value: string) => createHash('sha256').update(value).digest('base64url')

test('GET /user reports the bearer credential only as its SHA-256, over TLS signed by the dev CA', async () => {
  const res = await get('/user', { Authorization: 'Bearer canary-bearer-1' })
  assert.equal(res.status, 200)
  assert.deepEqual(JSON.parse(res.body), {
    login: 'demo',
    host: `localhost:${upstream.port}`,
    via: 'bearer',
    credential_sha256: sha('canary-bearer-1'),
  })
})

test('GET /user reads Basic (password part), X-Api-Key and api_key in that order', async () => {
  const basic = Buffer.from('octocat:canary-basic-2').toString('base64')
  assert.equal(
    JSON.parse((await get('/user', { Authorization: `Basic ${basic}` })).body).credential_sha256,
    sha('canary-basic-2'),
  )
  const header = JSON.parse((await get('/user?api_key=q', { 'X-Api-Key': 'canary-header-3' })).body)
  assert.deepEqual([header.via, header.credential_sha256], ['header', sha('canary-header-3')])
  const query = JSON.parse((await get('/user?api_key=canary-query-4')).body)
  assert.deepEqual([query.via, query.credential_sha256], ['query', sha('canary-query-4')])
})

test('GET /user without a credential is 401 with a challenge', async () => {
  const res = await get('/user')
  assert.equal(res.status, 401)
  assert.equal(res.headers['www-authenticate'], 'Bearer realm="demo-upstream"')
  assert.deepEqual(JSON.parse(res.body), { error: 'unauthorized' })
})

test('GET /echo reflects headers and query exactly; /redirect, /big and /slow behave as documented', async () => {
  const echo = JSON.parse((await get('/echo?a=1&b=two', { 'X-Probe': 'p' })).body)
  assert.equal(echo.headers['x-probe'], 'p')
  assert.deepEqual(echo.query, { a: '1', b: 'two' })
  const redirect = await get('/redirect?to=https%3A%2F%2Fevil.example%2Fsteal')
  assert.equal(redirect.status, 302)
  assert.equal(redirect.headers.location, 'https://evil.example/steal')
  assert.equal((await get('/big?bytes=1000')).body.length, 1000)
  assert.deepEqual(JSON.parse((await get('/slow?ms=5')).body), { slept_ms: 5 })
})

test('its log holds method, path and hash, never the credential', async () => {
  await get('/user?api_key=canary-in-query-5', {})
  const log = logLines.join('\n')
  assert.ok(log.includes(sha('canary-in-query-5')))
  assert.ok(!log.includes('canary-in-query-5'))
  assert.ok(!log.includes('canary-bearer-1'))
  assert.ok(upstream.connections >= 1)
})
