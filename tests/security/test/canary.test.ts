// Issue #7 (1): a random canary credential sealed through the SDK, driven through the success
// and failure paths of the example MCP server's `api_request` tool; afterwards every process's
// output, every answer the test saw and the AS database are scanned for the canary in every
// encoding the enclave's redaction claims to cover.
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DatabaseSync } from 'node:sqlite'
import { after, before, describe, test } from 'node:test'
import {
  addConnection,
  callTool,
  canaryForms,
  dumpSqlite,
  makeCanary,
  newOwner,
  type Owner,
  parseDispatch,
  scanForCanary,
  seenBodies,
  startTestStack,
  type TestStack,
  upstreamConnections,
  upstreamRequests,
} from './helpers.ts'

const TIMEOUT_MS = 1000
const MAX_BYTES = 65_536
const BASIC_USER = 'canary-user'

let t: TestStack
let canary: string
let upstreamHost: string
const owners: Record<'header' | 'query' | 'basic' | 'bearer' | 'elsewhere', Owner> = {} as never

before(async () => {
  t = await startTestStack({
    env: {
      DAUTH_ENCLAVE_UPSTREAM_TIMEOUT_MS: String(TIMEOUT_MS),
      DAUTH_ENCLAVE_MAX_RESPONSE_BYTES: String(MAX_BYTES),
    },
  })
  const { stack } = t
  upstreamHost = new URL(stack.upstreamUrl).host
  canary = makeCanary()
  const injections = {
    header: { type: 'header', name: 'X-Api-Key', template: 'Token {secret}' },
    query: { type: 'query', name: 'api_key' },
    basic: { type: 'basic', username: BASIC_USER },
    bearer: { type: 'bearer' },
    // The demo upstream does not read this header: /user answers 401.
    elsewhere: { type: 'header', name: 'X-Other-Key', template: '{secret}' },
  } as const
  for (const [kind, inject] of Object.entries(injections)) {
    const owner = await newOwner(stack.issuer, stack.mcpUrl, stack.paths.attestationFile)
    await addConnection(owner, upstreamHost, canary, inject)
    owners[kind as keyof typeof owners] = owner
  }
})

after(async () => {
  await t?.close()
})

/** Connections and requests the upstream has logged so far. */
const seen = () => ({
  connections: upstreamConnections(t.stack.output.upstream),
  requests: upstreamRequests(t.stack.output.upstream).length,
})

const api = (owner: Owner, args: Record<string, unknown>) =>
  callTool(t.stack.mcpUrl, owner.mcpAuth, 'api_request', { connection: 'demo', ...args })

describe('success paths: the upstream echoes the credential, the caller sees [REDACTED]', () => {
  test('header injection (Token {secret}): the echoed header is redacted', async () => {
    const answer = parseDispatch(await api(owners.header, { method: 'GET', path: '/echo' }))
    assert.equal(answer.status, 200)
    const echoed = JSON.parse(answer.body) as { headers: Record<string, string> }
    assert.equal(echoed.headers['x-api-key'], 'Token [REDACTED]')
  })

  test('query injection: the echoed query parameter is redacted and a caller api_key is dropped', async () => {
    const answer = parseDispatch(
      await api(owners.query, { method: 'GET', path: '/echo', query: { api_key: 'mine', q: '1' } }),
    )
    assert.equal(answer.status, 200)
    const echoed = JSON.parse(answer.body) as { query: Record<string, string> }
    assert.deepEqual(echoed.query, { api_key: '[REDACTED]', q: '1' })
  })

  test('basic injection: the echoed Authorization is redacted', async () => {
    const answer = parseDispatch(await api(owners.basic, { method: 'GET', path: '/echo' }))
    assert.equal(answer.status, 200)
    const echoed = JSON.parse(answer.body) as { headers: Record<string, string> }
    assert.equal(echoed.headers.authorization, 'Basic [REDACTED]')
  })

  test('bearer injection: caller authorization is dropped and the echo is redacted', async () => {
    const answer = parseDispatch(
      await api(owners.bearer, {
        method: 'GET',
        path: '/echo',
        headers: { authorization: 'Bearer attacker', 'x-forwarded-for': '1.2.3.4' },
      }),
    )
    assert.equal(answer.status, 200)
    const echoed = JSON.parse(answer.body) as { headers: Record<string, string> }
    assert.equal(echoed.headers.authorization, 'Bearer [REDACTED]')
    assert.equal(echoed.headers['x-forwarded-for'], undefined)
  })
})

describe('failure paths', () => {
  test('a redirect to another host is returned, not followed (one upstream request)', async () => {
    const before = upstreamRequests(t.stack.output.upstream).length
    const port = new URL(t.stack.upstreamUrl).port
    const to = `https://127.0.0.1:${port}/echo`
    const answer = parseDispatch(
      await api(owners.bearer, { method: 'GET', path: '/redirect', query: { to } }),
    )
    assert.equal(answer.status, 302)
    assert.equal(answer.headers.location, to)
    assert.equal(answer.body, '')
    assert.deepEqual(upstreamRequests(t.stack.output.upstream).slice(before), ['/redirect'])
  })

  test(`an upstream slower than DAUTH_ENCLAVE_UPSTREAM_TIMEOUT_MS=${TIMEOUT_MS} is upstream_timeout (504)`, async () => {
    const answer = await api(owners.bearer, {
      method: 'GET',
      path: '/slow',
      query: { ms: String(TIMEOUT_MS * 5) },
    })
    assert.deepEqual(answer, {
      isError: true,
      text: 'Dispatch refused: upstream_timeout (HTTP 504)',
    })
  })

  test(`a body over DAUTH_ENCLAVE_MAX_RESPONSE_BYTES=${MAX_BYTES} is response_too_large (502)`, async () => {
    const answer = await api(owners.bearer, {
      method: 'GET',
      path: '/big',
      query: { bytes: String(MAX_BYTES + 1) },
    })
    assert.deepEqual(answer, {
      isError: true,
      text: 'Dispatch refused: response_too_large (HTTP 502)',
    })
  })

  test('a body of exactly the limit passes (the limit is not off by one)', async () => {
    const answer = parseDispatch(
      await api(owners.bearer, {
        method: 'GET',
        path: '/big',
        query: { bytes: String(MAX_BYTES) },
      }),
    )
    assert.equal(answer.status, 200)
    assert.equal(answer.body, 'a'.repeat(MAX_BYTES))
  })

  test('an upstream 401 is passed through with its WWW-Authenticate', async () => {
    const answer = parseDispatch(await api(owners.elsewhere, { method: 'GET', path: '/user' }))
    assert.equal(answer.status, 401)
    assert.equal(answer.headers['www-authenticate'], 'Bearer realm="demo-upstream"')
    assert.deepEqual(JSON.parse(answer.body), { error: 'unauthorized' })
  })

  const badRequests: [string, Record<string, unknown>][] = [
    ['a path without a leading slash', { method: 'GET', path: 'user' }],
    ['a path with "//"', { method: 'GET', path: '//evil.example/user' }],
    ['a path with a query', { method: 'GET', path: '/user?x=1' }],
    ['method TRACE', { method: 'TRACE', path: '/user' }],
    ['a CRLF in a header value', { method: 'GET', path: '/user', headers: { 'x-a': 'a\r\nb: c' } }],
    ['a body with GET', { method: 'GET', path: '/echo', body: 'x' }],
  ]
  for (const [name, args] of badRequests) {
    test(`${name}: invalid_request (400) and the upstream sees no connection`, async () => {
      const before = seen()
      const answer = await api(owners.bearer, args)
      assert.deepEqual(answer, {
        isError: true,
        text: 'Dispatch refused: invalid_request (HTTP 400)',
      })
      assert.deepEqual(seen(), before)
    })
  }

  test('another host than allowed_hosts: host_not_allowed (403), the upstream sees nothing', async () => {
    const before = seen()
    const port = new URL(t.stack.upstreamUrl).port
    const answer = await api(owners.bearer, {
      method: 'GET',
      path: '/echo',
      host: `127.0.0.1:${port}`,
    })
    assert.deepEqual(answer, {
      isError: true,
      text: 'Dispatch refused: host_not_allowed (HTTP 403)',
    })
    assert.deepEqual(seen(), before)
  })
})

describe('the canary scan (runs last)', () => {
  test('the scanner finds a planted canary in every form, in logs and in a database', async () => {
    const planted = makeCanary()
    const forms = canaryForms(planted, [BASIC_USER])
    for (const [form, value] of forms) {
      const hits = scanForCanary({ log: `{"msg":"x","v":"${value}"}` }, forms)
      assert.ok(hits.includes(`${form} in log`), `${form}: ${hits.join(', ')}`)
    }
    const dir = await mkdtemp(join(tmpdir(), 'dauth-sec-db-'))
    try {
      const db = new DatabaseSync(join(dir, 'planted.sqlite'))
      db.exec('CREATE TABLE t (a TEXT, b BLOB)')
      db.prepare('INSERT INTO t VALUES (?, ?)').run('nothing', Buffer.from(planted))
      db.close()
      const hits = scanForCanary({ db: dumpSqlite(join(dir, 'planted.sqlite')) }, forms)
      assert.ok(hits.includes('raw in db'))
      assert.ok(hits.includes('hex in db'))
      assert.ok(hits.includes('base64 in db'))
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
    assert.deepEqual(scanForCanary({ log: 'clean' }, forms), [])
  })

  test('no process output, no answer and no AS table holds the canary in any form', () => {
    assert.ok(seenBodies.length >= 14, `only ${seenBodies.length} answers recorded`)
    const sources: Record<string, string> = {
      answers: seenBodies.join('\n'),
      'as.sqlite': dumpSqlite(join(t.stateDir, 'as.sqlite')),
    }
    for (const [service, lines] of Object.entries(t.stack.output)) {
      sources[`${service} output`] = lines.join('\n')
    }
    assert.ok(sources['as output']?.includes('"msg"'), 'the AS printed nothing')
    assert.deepEqual(scanForCanary(sources, canaryForms(canary, [BASIC_USER])), [])
  })
})
