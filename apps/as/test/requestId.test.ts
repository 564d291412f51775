// X-Request-Id: a well-formed incoming id is echoed and appears in every log line of its
// request (fastify's own routes and oidc-provider's hijacked ones); anything else is replaced.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { ALICE, MCP_RESOURCE, startTestServer, tokenRequest } from './helpers.ts'

test('request ids: echoed, logged with every line of the request, malformed ones replaced', async () => {
  const lines: string[] = []
  const server = await startTestServer({
    logger: { level: 'info' },
    logStream: { write: (line) => lines.push(line) },
  })
  try {
    const health = await fetch(`${server.url}/healthz`, { headers: { 'x-request-id': 'as-hop-1' } })
    assert.equal(health.status, 200)
    assert.equal(health.headers.get('x-request-id'), 'as-hop-1')
    const token = await tokenRequest(
      server,
      { grant_type: 'client_credentials', resource: MCP_RESOURCE },
      { client: ALICE, headers: { 'x-request-id': 'as-hop-2' } },
    )
    // oidc-provider's answer (a hijacked reply) carries the id too.
    assert.equal(token.headers.get('x-request-id'), 'as-hop-2')
    const bad = await fetch(`${server.url}/healthz`, {
      headers: { 'x-request-id': 'x'.repeat(129) },
    })
    const replaced = bad.headers.get('x-request-id') ?? ''
    assert.match(replaced, /^[0-9a-f-]{36}$/)
    const spaced = await fetch(`${server.url}/healthz`, { headers: { 'x-request-id': 'a b' } })
    assert.match(spaced.headers.get('x-request-id') ?? '', /^[0-9a-f-]{36}$/)
  } finally {
    await server.close()
  }
  const entries = lines.map((line) => JSON.parse(line) as Record<string, unknown>)
  const first = entries.filter((entry) => entry.reqId === 'as-hop-1').map((entry) => entry.msg)
  assert.deepEqual(first, ['incoming request', 'request completed'])
  assert.ok(entries.some((entry) => entry.reqId === 'as-hop-2'))
  assert.ok(!lines.join('').includes('x'.repeat(129)))
})
