// Transport security: Host / Origin allow-lists (DNS rebinding), CORS, body limit, routing.
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { startFixture, type Fixture } from './fixtures.ts'
import { callMcp, mintToken, rawRequest, toolCall } from './helpers.ts'

describe('transport security', () => {
  let f: Fixture
  before(async () => {
    f = await startFixture(
      { dpopRequired: false },
      { transportSecurity: { allowedOrigins: ['https://app.example'], maxBodyBytes: 1024 } },
    )
  })
  after(() => f.close())

  function headers(
    host: string,
    token: string,
    extra: [string, string][] = [],
  ): [string, string][] {
    return [
      ['host', host],
      ['content-type', 'application/json'],
      ['accept', 'application/json, text/event-stream'],
      ['authorization', `Bearer ${token}`],
      ...extra,
    ]
  }

  test('default allowed hosts: the resource host and its loopback forms', async () => {
    const token = await mintToken(f.as, f.url)
    const port = new URL(f.url).port
    for (const host of [
      `localhost:${port}`,
      `127.0.0.1:${port}`,
      `[::1]:${port}`,
      `LOCALHOST:${port}`,
    ]) {
      const r = await rawRequest(f.url, {
        headers: headers(host, token),
        body: JSON.stringify(toolCall('echo', { text: 'x' })),
      })
      assert.equal(r.status, 200, host)
    }
  })

  for (const host of ['evil.example', 'evil.example:80', 'localhost', 'localhost:1']) {
    test(`bad Host ${host}: 403 (DNS rebinding), before authorization`, async () => {
      const token = await mintToken(f.as, f.url)
      const r = await rawRequest(f.url, {
        headers: headers(host, token),
        body: JSON.stringify(toolCall('echo', { text: 'x' })),
      })
      assert.equal(r.status, 403)
      assert.deepEqual(JSON.parse(r.body), {
        error: 'forbidden',
        error_description: 'Host not allowed',
      })
      const prm = await rawRequest(f.metadataUrl, { method: 'GET', headers: [['host', host]] })
      assert.equal(prm.status, 403)
    })
  }

  test('foreign Origin: 403; configured origin: allowed with CORS headers', async () => {
    const token = await mintToken(f.as, f.url)
    const bad = await callMcp(f.url, { token, headers: { origin: 'http://evil.example' } })
    assert.equal(bad.status, 403)
    assert.deepEqual(bad.json, { error: 'forbidden', error_description: 'Origin not allowed' })
    const good = await callMcp(f.url, { token, headers: { origin: 'https://app.example' } })
    assert.equal(good.status, 200)
    assert.equal(good.headers.get('access-control-allow-origin'), 'https://app.example')
    assert.equal(
      good.headers.get('access-control-expose-headers'),
      'WWW-Authenticate, DPoP-Nonce, Mcp-Session-Id, Mcp-Protocol-Version, X-Request-Id',
    )
    const same = await callMcp(f.url, { token, headers: { origin: new URL(f.url).origin } })
    assert.equal(same.status, 200)
  })

  test('CORS preflight for a configured origin', async () => {
    const r = await fetch(f.url, {
      method: 'OPTIONS',
      headers: { origin: 'https://app.example', 'access-control-request-method': 'POST' },
    })
    assert.equal(r.status, 204)
    assert.equal(r.headers.get('access-control-allow-origin'), 'https://app.example')
    assert.equal(r.headers.get('access-control-allow-methods'), 'GET, POST, DELETE, OPTIONS')
    assert.equal(
      r.headers.get('access-control-allow-headers'),
      'Authorization, DPoP, Content-Type, Accept, Mcp-Protocol-Version, Mcp-Session-Id, Last-Event-ID, Mcp-Method, Mcp-Name, X-Request-Id, traceparent, tracestate',
    )
    const bad = await fetch(f.url, {
      method: 'OPTIONS',
      headers: { origin: 'http://evil.example' },
    })
    assert.equal(bad.status, 403)
  })

  test('401 answers expose WWW-Authenticate to an allowed browser origin', async () => {
    const r = await callMcp(f.url, { headers: { origin: 'https://app.example' } })
    assert.equal(r.status, 401)
    assert.equal(r.headers.get('access-control-allow-origin'), 'https://app.example')
  })

  test('body over the limit: 413', async () => {
    const token = await mintToken(f.as, f.url)
    const r = await callMcp(f.url, { token, body: toolCall('echo', { text: 'x'.repeat(2000) }) })
    assert.equal(r.status, 413)
  })

  test('invalid JSON: 400 parse error', async () => {
    const token = await mintToken(f.as, f.url)
    const r = await rawRequest(f.url, { headers: headers(new URL(f.url).host, token), body: '{' })
    assert.equal(r.status, 400)
    assert.deepEqual(JSON.parse(r.body), {
      jsonrpc: '2.0',
      error: { code: -32700, message: 'Parse error' },
      id: null,
    })
  })

  test('GET on the endpoint (stateless): 405 after authorization; unauthenticated GET: 401', async () => {
    const token = await mintToken(f.as, f.url)
    assert.equal((await callMcp(f.url, { token, method: 'GET' })).status, 405)
    assert.equal((await callMcp(f.url, { method: 'GET' })).status, 401)
  })

  test('other paths: 404', async () => {
    const r = await fetch(new URL('/nope', f.url))
    assert.equal(r.status, 404)
    assert.deepEqual(await r.json(), { error: 'not_found', error_description: 'Not found' })
  })
})
