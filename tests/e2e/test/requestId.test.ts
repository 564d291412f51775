// Request ids across hops over the real processes (issue #9): one X-Request-Id sent to the
// MCP server shows up in the MCP server's, the AS's (token exchange + the enclave worker's
// envelope fetch) and the enclave's log lines of that one dispatch.
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { type DemoFlowResult, runDemoFlow, type Stack, startStack } from '@dauth/devkit'
import { createDpopProof } from '@dauth/protocol'

let stack: Stack
let stateDir: string
let flow: DemoFlowResult

before(async () => {
  stateDir = await mkdtemp(join(tmpdir(), 'dauth-e2e-reqid-'))
  stack = await startStack({ stateDir })
  flow = await runDemoFlow({
    issuer: stack.issuer,
    mcpUrl: stack.mcpUrl,
    upstreamHost: new URL(stack.upstreamUrl).host,
    attestationFile: stack.paths.attestationFile,
  })
})

after(async () => {
  await stack?.stop()
  await rm(stateDir, { recursive: true, force: true })
})

/** The JSON log lines of a service carrying `reqId`. */
function linesWith(lines: string[], reqId: string): Record<string, unknown>[] {
  return lines
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>)
    .filter((entry) => entry.reqId === reqId)
}

test('one request id in the MCP, AS and enclave logs of one dispatch', async () => {
  // A fresh access token (new jti): the MCP server exchanges it at the AS for this call.
  await flow.mcpAuth.invalidate()
  const token = await flow.mcpAuth.getAccessToken()
  const key = await flow.mcpAuth.getDpopKey()
  assert.ok(token && key)
  const reqId = `e2e-${randomBytes(8).toString('hex')}`
  const response = await fetch(stack.mcpUrl, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      'mcp-protocol-version': '2025-06-18',
      'x-request-id': reqId,
      authorization: `DPoP ${token.value}`,
      dpop: await createDpopProof(key, {
        htm: 'POST',
        htu: stack.mcpUrl,
        accessToken: token.value,
      }),
    },
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method: 'tools/call',
      params: { name: 'whoami', arguments: {} },
    }),
  })
  assert.equal(response.status, 200)
  assert.equal(response.headers.get('x-request-id'), reqId)
  const text = await response.text()
  assert.ok(text.includes('\\"login\\":\\"demo\\"'), text)

  const mcp = linesWith(stack.output.mcp, reqId)
  assert.deepEqual(
    mcp.map((entry) => [entry.msg, entry.status]),
    [['request', 200]],
  )
  const enclave = linesWith(stack.output.enclave, reqId)
  assert.deepEqual(
    enclave.map((entry) => [entry.msg, entry.status]),
    [['dispatch', 200]],
  )
  // The AS saw the id twice: the MCP server's token exchange and the worker's envelope read.
  const urls = linesWith(stack.output.as, reqId)
    .filter((entry) => entry.msg === 'incoming request')
    .map((entry) => (entry.req as { method: string; url: string }).url.replace(/\/[^/]+$/, '/…'))
  assert.deepEqual(urls.sort(), ['/enclave/envelopes/…', '/oauth/…'])
})
