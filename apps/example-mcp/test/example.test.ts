// The example server's tools end to end against a stub AS (JWKS + token endpoint) and a stub enclave.
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { generateKeyPairSync, randomUUID, sign } from 'node:crypto'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { createServer, type IncomingMessage, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { pino } from 'pino'
import { type ExampleMcp, LOG_REDACT, startExampleMcp } from '../src/index.ts'

function listen(server: Server): Promise<string> {
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`),
    ),
  )
}
function body(req: IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => resolve(Buffer.concat(chunks).toString()))
  })
}
function stop(server: Server): Promise<void> {
  server.closeAllConnections()
  return new Promise((resolve) => server.close(() => resolve()))
}

type Result = any

describe('example MCP server', () => {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  let as: Server
  let issuer: string
  let enclave: Server
  let enclaveUrl: string
  let mcp: ExampleMcp
  const dispatched: unknown[] = []
  const logLines: string[] = []
  const log = pino(
    { base: { service: 'example-mcp' }, redact: LOG_REDACT },
    { write: (line: string) => logLines.push(line) },
  )
  let enclaveAnswer: { status: number; body: unknown } = {
    status: 200,
    body: {
      status: 200,
      headers: { 'content-type': 'application/json' },
      body: '{"login":"demo","via":"bearer"}',
    },
  }

  function token(scope: string): string {
    const now = Math.floor(Date.now() / 1000)
    const header = { alg: 'ES256', typ: 'at+jwt', kid: 'k1' }
    const claims = {
      iss: issuer,
      sub: 'demo-user',
      aud: mcp.url,
      iat: now,
      exp: now + 300,
      jti: randomUUID(),
      client_id: 'c',
      scope,
      connections: { demo: 'hdl_1' },
    }
    const input = `${Buffer.from(JSON.stringify(header)).toString('base64url')}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}`
    return `${input}.${sign('sha256', Buffer.from(input), { key: privateKey, dsaEncoding: 'ieee-p1363' }).toString('base64url')}`
  }

  async function call(scope: string, message: Record<string, unknown>): Promise<Result> {
    const response = await fetch(mcp.url, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${token(scope)}`,
        accept: 'application/json, text/event-stream',
        'content-type': 'application/json',
      },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, ...message }),
    })
    assert.equal(response.status, 200)
    const text = await response.text()
    const data = text.split('\n').find((line) => line.startsWith('data: '))
    const parsed = JSON.parse(data ? data.slice(6) : text) as { result: Result }
    return parsed.result
  }

  before(async () => {
    as = createServer((req, res) => {
      void body(req).then(() => {
        res.setHeader('content-type', 'application/json')
        if (req.url === '/.well-known/oauth-authorization-server') {
          res.end(
            JSON.stringify({
              issuer,
              jwks_uri: `${issuer}/jwks`,
              token_endpoint: `${issuer}/token`,
            }),
          )
        } else if (req.url === '/jwks') {
          res.end(
            JSON.stringify({
              keys: [{ ...publicKey.export({ format: 'jwk' }), kid: 'k1', alg: 'ES256' }],
            }),
          )
        } else {
          res.end(
            JSON.stringify({ access_token: 'dispatch-token', token_type: 'DPoP', expires_in: 60 }),
          )
        }
      })
    })
    issuer = await listen(as)
    enclave = createServer((req, res) => {
      void body(req).then((text) => {
        dispatched.push(JSON.parse(text))
        res.writeHead(enclaveAnswer.status, { 'content-type': 'application/json' })
        res.end(JSON.stringify(enclaveAnswer.body))
      })
    })
    enclaveUrl = await listen(enclave)
    mcp = await startExampleMcp({
      issuer,
      port: 0,
      enclaveUrl,
      client: { client_id: 'dauth-example-mcp', client_secret: 'secret' },
      dpopRequired: false,
      metricsToken: 'metrics-canary-token',
      log,
    })
  })
  after(async () => {
    await mcp.close()
    await stop(as)
    await stop(enclave)
  })

  test('protected resource metadata lists the tool scopes', async () => {
    const response = await fetch(new URL('/.well-known/oauth-protected-resource/mcp', mcp.url))
    assert.equal(response.status, 200)
    assert.deepEqual(await response.json(), {
      resource: mcp.url,
      authorization_servers: [issuer],
      scopes_supported: ['read', 'api:call'],
      bearer_methods_supported: ['header'],
      dpop_signing_alg_values_supported: ['ES256', 'EdDSA'],
      dpop_bound_access_tokens_required: false,
    })
  })

  test('tools/list per scope', async () => {
    const all = await call('read api:call', { method: 'tools/list', params: {} })
    assert.deepEqual(
      all.tools.map((t: { name: string }) => t.name),
      ['echo', 'whoami', 'api_request'],
    )
    const read = await call('read', { method: 'tools/list', params: {} })
    assert.deepEqual(
      read.tools.map((t: { name: string }) => t.name),
      ['echo', 'whoami'],
    )
  })

  test('echo', async () => {
    assert.deepEqual(
      await call('read', {
        method: 'tools/call',
        params: { name: 'echo', arguments: { text: 'hi' } },
      }),
      {
        content: [{ type: 'text', text: 'hi' }],
      },
    )
  })

  test('whoami dispatches GET /user through connection demo', async () => {
    dispatched.length = 0
    const result = await call('read', {
      method: 'tools/call',
      params: { name: 'whoami', arguments: {} },
    })
    assert.deepEqual(result, {
      content: [{ type: 'text', text: '{"login":"demo","via":"bearer"}' }],
    })
    assert.deepEqual(dispatched, [
      { handle: 'hdl_1', request: { method: 'GET', path: '/user', query: {}, headers: {} } },
    ])
  })

  test('api_request returns the enclave answer as JSON; a refusal is isError with the code', async () => {
    dispatched.length = 0
    const args = {
      connection: 'demo',
      method: 'GET',
      path: '/echo',
      query: { a: '1' },
      host: 'localhost:4300',
      headers: { 'x-test': '1' },
    }
    const ok = await call('api:call', {
      method: 'tools/call',
      params: { name: 'api_request', arguments: args },
    })
    assert.deepEqual(JSON.parse(ok.content[0].text), enclaveAnswer.body)
    assert.deepEqual(dispatched, [
      {
        handle: 'hdl_1',
        request: {
          method: 'GET',
          host: 'localhost:4300',
          path: '/echo',
          query: { a: '1' },
          headers: { 'x-test': '1' },
        },
      },
    ])
    enclaveAnswer = {
      status: 403,
      body: { error: 'host_not_allowed', error_description: 'Host not allowed' },
    }
    const refused = await call('api:call', {
      method: 'tools/call',
      params: { name: 'api_request', arguments: args },
    })
    assert.deepEqual(refused, {
      content: [{ type: 'text', text: 'Dispatch refused: host_not_allowed (HTTP 403)' }],
      isError: true,
    })
    const missing = await call('api:call', {
      method: 'tools/call',
      params: { name: 'api_request', arguments: { ...args, connection: 'github' } },
    })
    assert.deepEqual(missing, {
      content: [{ type: 'text', text: 'Dispatch refused: ERR_CONNECTION_UNAVAILABLE' }],
      isError: true,
    })
  })

  test('api_request without api:call: the documented scope error', async () => {
    const result = await call('read', {
      method: 'tools/call',
      params: { name: 'api_request', arguments: { connection: 'demo', method: 'GET', path: '/' } },
    })
    assert.deepEqual(result, {
      content: [
        {
          type: 'text',
          text: `Tool "api_request" requires scopes: ['api:call']. Missing: ['api:call']`,
        },
      ],
      isError: true,
    })
  })

  // Runs after every call above: the counts are those of the suite so far.
  test('GET /metrics needs the metrics token and counts the calls above', async () => {
    const metricsUrl = new URL('/metrics', mcp.url)
    const refused = await fetch(metricsUrl)
    assert.equal(refused.status, 401)
    assert.equal(refused.headers.get('www-authenticate'), 'Bearer realm="metrics"')
    assert.deepEqual(await refused.json(), {
      error: 'invalid_token',
      error_description: 'Metrics require the metrics token',
    })
    const wrong = await fetch(metricsUrl, {
      headers: { authorization: 'Bearer metrics-canary-tokeX' },
    })
    assert.equal(wrong.status, 401)
    const noToken = await fetch(mcp.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-request-id': 'trace-me-401' },
      body: '{}',
    })
    assert.equal(noToken.status, 401)
    assert.equal(noToken.headers.get('x-request-id'), 'trace-me-401')
    const foreignOrigin = await fetch(mcp.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: 'http://evil.example' },
      body: '{}',
    })
    assert.equal(foreignOrigin.status, 403)

    const scraped = await fetch(metricsUrl, {
      headers: { authorization: 'Bearer metrics-canary-token' },
    })
    assert.equal(scraped.status, 200)
    assert.equal(scraped.headers.get('content-type'), 'text/plain; version=0.0.4; charset=utf-8')
    const lines = new Set((await scraped.text()).split('\n'))
    for (const line of [
      // PRM, 2 lists, echo, whoami, 3 api_request, the refused api_request (a tool error)
      'dauth_mcp_requests_total{outcome="ok"} 9',
      'dauth_mcp_requests_total{outcome="unauthorized"} 1',
      'dauth_mcp_requests_total{outcome="forbidden"} 1',
      'dauth_mcp_auth_failures_total{reason="missing_token"} 1',
      'dauth_mcp_tool_calls_total{tool="echo",outcome="success"} 1',
      'dauth_mcp_tool_calls_total{tool="whoami",outcome="success"} 1',
      'dauth_mcp_tool_calls_total{tool="api_request",outcome="success"} 1',
      'dauth_mcp_tool_calls_total{tool="api_request",outcome="error"} 2',
      'dauth_mcp_tool_calls_total{tool="api_request",outcome="insufficient_scope"} 1',
      'dauth_mcp_dispatch_duration_seconds_count{outcome="success"} 2',
      'dauth_mcp_dispatch_duration_seconds_count{outcome="failure"} 2',
      'dauth_mcp_dispatch_failures_total{code="host_not_allowed"} 1',
      'dauth_mcp_dispatch_failures_total{code="ERR_CONNECTION_UNAVAILABLE"} 1',
    ]) {
      assert.ok(lines.has(line), `missing: ${line}`)
    }
    const requestLine = logLines
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .find((entry) => entry.reqId === 'trace-me-401')
    assert.deepEqual(
      { msg: requestLine?.msg, method: requestLine?.method, status: requestLine?.status },
      { msg: 'request', method: 'POST', status: 401 },
    )
    assert.ok(!logLines.join('\n').includes('metrics-canary-token'))
  })

  test('a canary in headers, arguments and answers reaches no log line (success and errors)', async () => {
    const CANARY = 'canary-c0ffee'
    logLines.length = 0
    const headers = {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      dpop: `${CANARY}-proof`,
      cookie: `s=${CANARY}-cookie`,
    }
    const rpc = (name: string, args: Record<string, unknown>) =>
      JSON.stringify({
        jsonrpc: '2.0',
        id: 9,
        method: 'tools/call',
        params: { name, arguments: args },
      })
    // refused: a malformed token, a token signed by nobody we know
    for (const authorization of [`Bearer ${CANARY}-token`, `Bearer e30.e30.${CANARY}`]) {
      const refused = await fetch(mcp.url, {
        method: 'POST',
        headers: { ...headers, authorization },
        body: rpc('echo', { text: CANARY }),
      })
      assert.equal(refused.status, 401)
    }
    // answered: echo of the canary, a dispatch refused by the enclave with canary arguments
    assert.deepEqual(
      await call('read', {
        method: 'tools/call',
        params: { name: 'echo', arguments: { text: CANARY } },
      }),
      {
        content: [{ type: 'text', text: CANARY }],
      },
    )
    enclaveAnswer = { status: 403, body: { error: 'host_not_allowed', error_description: CANARY } }
    const refusedDispatch = await call('api:call', {
      method: 'tools/call',
      params: {
        name: 'api_request',
        arguments: {
          connection: 'demo',
          method: 'POST',
          path: `/${CANARY}`,
          headers: { authorization: CANARY },
          body: CANARY,
        },
      },
    })
    assert.equal(refusedDispatch.isError, true)
    // Order-free: an SSE answer is logged when its head is sent, its tool may still run.
    const messages = logLines.map((line) => (JSON.parse(line) as { msg: string }).msg).sort()
    assert.deepEqual(messages, [
      'authorization refused',
      'authorization refused',
      'dispatch failed',
      'request',
      'request',
      'request',
      'request',
    ])
    assert.ok(
      !logLines.join('\n').includes(CANARY),
      logLines.find((l) => l.includes(CANARY)),
    )
  })
})

describe('main.ts', () => {
  test('starts from env, logs listening, serves PRM, exits 0 on SIGTERM', async () => {
    const probe = createServer()
    const port = Number(new URL(await listen(probe)).port)
    await stop(probe)
    const state = mkdtempSync(join(tmpdir(), 'example-mcp-'))
    const clientFile = join(state, 'client.json')
    writeFileSync(
      clientFile,
      JSON.stringify({ client_id: 'dauth-example-mcp', client_secret: 'canary-secret-value' }),
      { mode: 0o600 },
    )
    const child = spawn(process.execPath, [new URL('../src/main.ts', import.meta.url).pathname], {
      env: {
        ...process.env,
        DAUTH_STATE_DIR: state,
        DAUTH_MCP_URL: `http://localhost:${port}/mcp`,
        DAUTH_MCP_PORT: String(port),
        DAUTH_MCP_CLIENT_FILE: clientFile,
        DAUTH_ISSUER: 'http://localhost:4000',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stdout = ''
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString()
    })
    const exited = new Promise<number | null>((resolve) =>
      child.on('exit', (code) => resolve(code)),
    )
    // Generous: on a loaded 2-core CI machine a cold start can take many seconds.
    for (let i = 0; i < 600 && !stdout.includes('"listening"'); i++)
      await new Promise((r) => setTimeout(r, 100))
    const first = JSON.parse(stdout.split('\n')[0] ?? '{}')
    assert.equal(first.msg, 'listening')
    assert.equal(first.url, `http://localhost:${port}/mcp`)
    const prm = await fetch(`http://localhost:${port}/.well-known/oauth-protected-resource/mcp`)
    assert.equal(prm.status, 200)
    child.kill('SIGTERM')
    assert.equal(await exited, 0)
    assert.ok(!stdout.includes('canary-secret-value'))
  })
})
