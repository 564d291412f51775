// dispatch(): token exchange at a stub AS token endpoint, then a stub enclave /dispatch.
import assert from 'node:assert/strict'
import { createServer, type Server } from 'node:http'
import { after, before, beforeEach, describe, test } from 'node:test'
import { verifyDpopProof } from '@dauth/protocol'
import { z } from 'zod'
import { DispatchError, getContext, MCPServer, tool } from '../src/index.ts'
import {
  callMcp,
  close,
  generateDpopKeyPair,
  listen,
  mintToken,
  type RecordedRequest,
  readAll,
  type StubAs,
  startStubAs,
  toolCall,
} from './helpers.ts'

const CLIENT_SECRET = 's3cr+t/= x'

describe('dispatch', () => {
  let as: StubAs
  let enclave: Server
  let enclaveUrl: string
  let url: string
  let stop: () => Promise<void>
  let clock = 0
  const enclaveRequests: RecordedRequest[] = []
  let enclaveScript:
    | ((
        request: RecordedRequest,
        n: number,
      ) => { status: number; headers?: Record<string, string>; body: unknown })
    | undefined
  let issued = 0

  before(async () => {
    clock = Date.now()
    as = await startStubAs()
    as.onToken = (request, res) => {
      issued += 1
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' })
      res.end(
        JSON.stringify({
          access_token: `dispatch-token-${issued}`,
          token_type: 'DPoP',
          expires_in: 60,
          issued_token_type: 'urn:ietf:params:oauth:token-type:access_token',
        }),
      )
      void request
    }
    enclave = createServer((req, res) => {
      void readAll(req).then((body) => {
        const recorded = {
          method: req.method ?? '',
          url: req.url ?? '',
          headers: req.headers,
          body,
        }
        enclaveRequests.push(recorded)
        const answer = enclaveScript?.(recorded, enclaveRequests.length) ?? {
          status: 200,
          body: {
            status: 200,
            headers: { 'content-type': 'application/json' },
            body: '{"login":"demo"}',
          },
        }
        res.writeHead(answer.status, { 'content-type': 'application/json', ...answer.headers })
        res.end(JSON.stringify(answer.body))
      })
    })
    enclaveUrl = `http://127.0.0.1:${await listen(enclave)}`
    const server = new MCPServer('dispatcher', {
      authorization: { authorizationServers: [as.issuer], dpopRequired: false, now: () => clock },
      dispatch: {
        enclaveUrl,
        clientId: 'dauth-example-mcp',
        clientSecret: CLIENT_SECRET,
        now: () => clock,
      },
    })
    server.collect(
      tool(
        {
          name: 'call',
          description: 'dispatch',
          requiredScopes: ['read'],
          inputSchema: { connection: z.string(), path: z.string() },
        },
        async ({ connection, path }) => {
          try {
            return JSON.stringify(await getContext().dispatch(connection, { method: 'GET', path }))
          } catch (error) {
            return error instanceof DispatchError
              ? `error:${error.code}:${error.status ?? '-'}`
              : 'unexpected'
          }
        },
      ),
    )
    const running = await server.serve()
    url = running.url
    stop = () => running.close()
  })
  after(async () => {
    await stop()
    await close(enclave)
    await as.close()
  })
  beforeEach(() => {
    as.tokenRequests.length = 0
    enclaveRequests.length = 0
    enclaveScript = undefined
  })

  async function userToken(
    connections: Record<string, string> = { demo: 'hdl_demo_1' },
  ): Promise<string> {
    return mintToken(as, url, {
      claims: { connections, iat: Math.floor(clock / 1000), exp: Math.floor(clock / 1000) + 300 },
    })
  }

  async function call(token: string, connection = 'demo', path = '/user') {
    const r = await callMcp(url, { token, body: toolCall('call', { connection, path }) })
    assert.equal(r.status, 200)
    return r.message?.result.content[0].text as string
  }

  test('exchanges the token (exact form) and calls the enclave (exact headers and body)', async () => {
    const token = await userToken()
    const text = await call(token)
    assert.deepEqual(JSON.parse(text), {
      status: 200,
      headers: { 'content-type': 'application/json' },
      body: '{"login":"demo"}',
    })

    assert.equal(as.tokenRequests.length, 1)
    const exchange = as.tokenRequests[0]!
    assert.equal(exchange.method, 'POST')
    assert.equal(exchange.headers['content-type'], 'application/x-www-form-urlencoded')
    assert.equal(
      exchange.headers.authorization,
      `Basic ${Buffer.from(`dauth-example-mcp:${encodeURIComponent(CLIENT_SECRET)}`).toString('base64')}`,
    )
    assert.deepEqual(
      [...new URLSearchParams(exchange.body)],
      [
        ['grant_type', 'urn:ietf:params:oauth:grant-type:token-exchange'],
        ['subject_token', token],
        ['subject_token_type', 'urn:ietf:params:oauth:token-type:access_token'],
        ['resource', enclaveUrl],
        ['connections', 'hdl_demo_1'],
      ],
    )
    const exchangeProof = await verifyDpopProof(exchange.headers.dpop as string, {
      htm: 'POST',
      htu: `${as.issuer}/token`,
    })

    assert.equal(enclaveRequests.length, 1)
    const dispatch = enclaveRequests[0]!
    assert.equal(dispatch.url, '/dispatch')
    assert.equal(dispatch.headers.authorization, 'DPoP dispatch-token-1')
    assert.equal(dispatch.headers['content-type'], 'application/json')
    await verifyDpopProof(dispatch.headers.dpop as string, {
      htm: 'POST',
      htu: `${enclaveUrl}/dispatch`,
      accessToken: 'dispatch-token-1',
      expectedJkt: exchangeProof.jkt,
    })
    assert.deepEqual(JSON.parse(dispatch.body), {
      handle: 'hdl_demo_1',
      request: { method: 'GET', path: '/user', query: {}, headers: {} },
    })
  })

  test('the dispatch token is cached per (subject token, handle) until 10 s before expiry', async () => {
    const token = await userToken()
    await call(token)
    await call(token)
    assert.equal(as.tokenRequests.length, 1)
    assert.equal(enclaveRequests.length, 2)
    await call(await userToken())
    assert.equal(as.tokenRequests.length, 2, 'another subject token (jti) exchanges again')
    clock += 49_000
    await call(token)
    assert.equal(as.tokenRequests.length, 2, '11 s before expiry: still cached')
    clock += 2_000
    await call(token)
    assert.equal(as.tokenRequests.length, 3, '9 s before expiry: exchanged again')
  })

  test('a connection the token does not carry: ERR_CONNECTION_UNAVAILABLE, nothing sent', async () => {
    const text = await call(await userToken(), 'github')
    assert.equal(text, 'error:ERR_CONNECTION_UNAVAILABLE:-')
    assert.equal(as.tokenRequests.length, 0)
    assert.equal(enclaveRequests.length, 0)
    assert.equal(await call(await userToken(), '__proto__'), 'error:ERR_CONNECTION_UNAVAILABLE:-')
  })

  test('enclave errors surface as DispatchError with the enclave code', async () => {
    enclaveScript = () => ({
      status: 404,
      body: { error: 'handle_unavailable', error_description: 'Handle unavailable' },
    })
    assert.equal(await call(await userToken()), 'error:handle_unavailable:404')
    enclaveScript = () => ({
      status: 403,
      body: { error: 'host_not_allowed', error_description: 'Host not allowed' },
    })
    assert.equal(await call(await userToken()), 'error:host_not_allowed:403')
  })

  test('use_dpop_nonce from the enclave: one retry with the nonce', async () => {
    enclaveScript = (_request, n) =>
      n === 1
        ? {
            status: 401,
            headers: {
              'www-authenticate': 'DPoP error="use_dpop_nonce", algs="ES256"',
              'dpop-nonce': 'enclave-nonce-1',
            },
            body: { error: 'use_dpop_nonce', error_description: 'nonce' },
          }
        : { status: 200, body: { status: 204, headers: {}, body: '' } }
    const text = await call(await userToken())
    assert.deepEqual(JSON.parse(text), { status: 204, headers: {}, body: '' })
    assert.equal(enclaveRequests.length, 2)
    const retry = await verifyDpopProof(enclaveRequests[1]!.headers.dpop as string, {
      htm: 'POST',
      htu: `${enclaveUrl}/dispatch`,
    })
    assert.equal(retry.nonce, 'enclave-nonce-1')
  })

  test('use_dpop_nonce from the token endpoint: one retry with the nonce', async () => {
    const original = as.onToken
    let n = 0
    as.onToken = (request, res) => {
      n += 1
      if (n === 1) {
        res.writeHead(400, { 'content-type': 'application/json', 'dpop-nonce': 'as-nonce-1' })
        res.end(JSON.stringify({ error: 'use_dpop_nonce' }))
        return
      }
      original(request, res)
    }
    try {
      await call(await userToken())
      assert.equal(as.tokenRequests.length, 2)
      const retry = await verifyDpopProof(as.tokenRequests[1]!.headers.dpop as string, {
        htm: 'POST',
        htu: `${as.issuer}/token`,
      })
      assert.equal(retry.nonce, 'as-nonce-1')
    } finally {
      as.onToken = original
    }
  })

  test('a refused token exchange: ERR_TOKEN_EXCHANGE, enclave not called', async () => {
    const original = as.onToken
    as.onToken = (_request, res) => {
      res.writeHead(400, { 'content-type': 'application/json' })
      res.end(JSON.stringify({ error: 'invalid_grant' }))
    }
    try {
      assert.equal(await call(await userToken()), 'error:ERR_TOKEN_EXCHANGE:400')
      assert.equal(enclaveRequests.length, 0)
    } finally {
      as.onToken = original
    }
  })

  test('the own DPoP key is stable across calls', async () => {
    await call(await userToken())
    await call(await userToken())
    const [a, b] = await Promise.all(
      as.tokenRequests.map((r) =>
        verifyDpopProof(r.headers.dpop as string, { htm: 'POST', htu: `${as.issuer}/token` }),
      ),
    )
    assert.equal(a!.jkt, b!.jkt)
    void generateDpopKeyPair
  })
})
