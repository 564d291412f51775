// The whole credential flow over the real processes (issue #2): AS, enclave, example MCP
// server and demo upstream started as OS processes on free ports, driven through the public
// SDKs exactly as a user would.
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { type DemoFlowResult, runDemoFlow, type Stack, startStack } from '@dauth/devkit'
import { generateDpopKeyPair, createDpopProof, parseWwwAuthenticate } from '@dauth/protocol'
import {
  ClientCredentialsAuth,
  DAuthConnections,
  MCPClient,
  registerClient,
} from '@dauth/sdk-client'
import { loadAttestationPolicy } from '@dauth/sdk-client/node'

let stack: Stack
let stateDir: string
let flow: DemoFlowResult

const upstreamConnections = () =>
  stack.output.upstream.filter((line) => line.includes('"msg":"connection"')).length

before(async () => {
  stateDir = await mkdtemp(join(tmpdir(), 'dauth-e2e-'))
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

describe('the credential flow end to end', () => {
  test('whoami reaches the upstream with exactly the sealed credential, injected as a bearer token', () => {
    assert.deepEqual(flow.whoami, {
      login: 'demo',
      host: new URL(stack.upstreamUrl).host,
      via: 'bearer',
      credential_sha256: flow.credentialSha256,
    })
    assert.match(flow.handle, /^\S{16,}$/)
  })

  test("the upstream logged only the credential's hash", () => {
    const upstreamLog = stack.output.upstream.join('\n')
    assert.ok(upstreamLog.includes(flow.credentialSha256))
  })

  test('echo works through the MCP server with a DPoP-bound token', async () => {
    const mcp = await MCPClient.connect(stack.mcpUrl, { auth: flow.mcpAuth })
    try {
      const result = await mcp.callTool('echo', { text: 'hello' })
      assert.deepEqual(result.content, [{ type: 'text', text: 'hello' }])
    } finally {
      await mcp.close()
    }
  })
})

// Request ids across hops (issue #9): one X-Request-Id sent to the MCP server shows up in the
// MCP server's, the AS's (token exchange + the enclave worker's envelope fetch) and the
// enclave's log lines of that one dispatch. Before the refusals: one of them tampers an envelope.
describe('request ids across hops', () => {
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
})

describe('refusals over real HTTP', () => {
  test('no token: 401 with an absolute resource_metadata URL', async () => {
    const res = await fetch(stack.mcpUrl, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
      },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
    })
    assert.equal(res.status, 401)
    const challenges = parseWwwAuthenticate(res.headers.get('www-authenticate') ?? '')
    const metadataUrl = challenges.find((c) => c.params.resource_metadata)?.params.resource_metadata
    assert.equal(
      metadataUrl,
      `${new URL(stack.mcpUrl).origin}/.well-known/oauth-protected-resource/mcp`,
    )
    const prm = await (await fetch(metadataUrl)).json()
    assert.equal(prm.resource, stack.mcpUrl)
    assert.deepEqual(prm.authorization_servers, [stack.issuer])
  })

  test('a token for another audience (the vault) is refused by the MCP server with 401 invalid_token', async () => {
    const key = await generateDpopKeyPair()
    const token = await clientCredentialsToken(
      flow.clientId,
      flow.clientSecret,
      key,
      `${stack.issuer}/connections`,
      'connections:read',
    )
    const res = await fetch(stack.mcpUrl, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        authorization: `DPoP ${token}`,
        dpop: await createDpopProof(key, { htm: 'POST', htu: stack.mcpUrl, accessToken: token }),
      },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
    })
    assert.equal(res.status, 401)
    const challenge = parseWwwAuthenticate(res.headers.get('www-authenticate') ?? '').find(
      (c) => c.params.error,
    )
    assert.equal(challenge?.params.error, 'invalid_token')
  })

  test("another owner's handle gets exactly the same refusal as an unknown handle at the token exchange", async () => {
    // Owner B asks the MCP server's client to exchange B's token for A's handle.
    const b = await registerClient(stack.issuer, {
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
      token_endpoint_auth_method: 'client_secret_basic',
      dpop_bound_access_tokens: true,
    })
    const bKey = await generateDpopKeyPair()
    const endpoint = await tokenEndpoint()
    const bToken = await clientCredentialsToken(
      b.client_id,
      b.client_secret ?? '',
      bKey,
      stack.mcpUrl,
      'read',
    )
    const mcpClient = JSON.parse(await readFile(stack.paths.mcpClientFile, 'utf8'))
    const mcpKey = await generateDpopKeyPair()
    const exchange = async (handle: string) => {
      const res = await fetch(endpoint, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          authorization: `Basic ${Buffer.from(`${mcpClient.client_id}:${mcpClient.client_secret}`).toString('base64')}`,
          dpop: await createDpopProof(mcpKey, { htm: 'POST', htu: endpoint }),
        },
        body: new URLSearchParams({
          grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
          subject_token: bToken,
          subject_token_type: 'urn:ietf:params:oauth:token-type:access_token',
          resource: stack.enclaveUrl,
          connections: handle,
        }),
      })
      return { status: res.status, body: await res.json() }
    }
    const foreign = await exchange(flow.handle)
    const unknown = await exchange('hdl_doesnotexist0000000000000000000000000000')
    assert.equal(foreign.status, 400)
    assert.equal(foreign.body.error, 'invalid_grant')
    assert.deepEqual(foreign, unknown)
  })

  test('a tampered envelope: the tool gets a generic handle_unavailable and the upstream sees no request', async () => {
    const c = await registerClient(stack.issuer, {
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
      token_endpoint_auth_method: 'client_secret_basic',
      dpop_bound_access_tokens: true,
    })
    const auth = (resource: string, scope: string) =>
      ClientCredentialsAuth({
        issuer: stack.issuer,
        clientId: c.client_id,
        clientSecret: c.client_secret ?? '',
        resource,
        scope,
        dpop: true,
      })
    // Flip one byte of the ciphertext on its way to the vault.
    const tamperingFetch: typeof fetch = async (input, init) => {
      if (init?.method === 'PUT' && typeof init.body === 'string') {
        const body = JSON.parse(init.body)
        const ct = Buffer.from(body.envelope.ct, 'base64url')
        ct[40] = (ct[40] ?? 0) ^ 0x01
        body.envelope.ct = ct.toString('base64url')
        return fetch(input, { ...init, body: JSON.stringify(body) })
      }
      return fetch(input, init)
    }
    const connections = new DAuthConnections({
      issuer: stack.issuer,
      auth: auth(`${stack.issuer}/connections`, 'connections:read connections:write'),
      attestation: await loadAttestationPolicy(stack.paths.attestationFile),
      fetch: tamperingFetch,
    })
    await connections.create({
      name: 'demo',
      provider: 'demo-upstream',
      secret: 'tampered-canary-secret',
      allowedHosts: [new URL(stack.upstreamUrl).host],
      inject: { type: 'bearer' },
    })
    const before = upstreamConnections()
    const mcp = await MCPClient.connect(stack.mcpUrl, { auth: auth(stack.mcpUrl, 'read api:call') })
    try {
      const result = await mcp.callTool('api_request', {
        connection: 'demo',
        method: 'GET',
        path: '/user',
      })
      assert.equal(result.isError, true)
      const text = result.content.find((item) => item.type === 'text')
      assert.ok(
        text?.type === 'text' && text.text.includes('handle_unavailable'),
        JSON.stringify(result.content),
      )
      assert.ok(!JSON.stringify(result).includes('tampered-canary-secret'))
    } finally {
      await mcp.close()
    }
    assert.equal(upstreamConnections(), before)
  })
})

async function tokenEndpoint(): Promise<string> {
  const metadata = await (
    await fetch(`${stack.issuer}/.well-known/oauth-authorization-server`)
  ).json()
  return metadata.token_endpoint
}

async function clientCredentialsToken(
  clientId: string,
  clientSecret: string,
  key: Awaited<ReturnType<typeof generateDpopKeyPair>>,
  resource: string,
  scope: string,
): Promise<string> {
  const endpoint = await tokenEndpoint()
  const res = await fetch(endpoint, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: `Basic ${Buffer.from(`${clientId}:${clientSecret}`).toString('base64')}`,
      dpop: await createDpopProof(key, { htm: 'POST', htu: endpoint }),
    },
    body: new URLSearchParams({ grant_type: 'client_credentials', resource, scope }),
  })
  assert.equal(res.status, 200, await res.clone().text())
  return (await res.json()).access_token
}
