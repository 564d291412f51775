// Malformed and hostile requests at the token, registration, introspection/revocation and
// vault endpoints: bad JSON, oversize bodies, wrong content types, odd methods. Every answer
// is RFC 6749-style error JSON with the exact status, never a 500, never an internal detail.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import {
  ALICE,
  basic,
  clientCredentialsToken,
  createDpopProof,
  generateDpopKeyPair,
  startTestServer,
  type TestServer,
} from './helpers.ts'
import type { DpopKeyPair } from '@dauth/protocol'

const FORM = 'application/x-www-form-urlencoded'
const JSON_CT = 'application/json'
const BIG = 'a'.repeat(200 * 1024)
const OVER_OIDC_LIMIT = 'a'.repeat(60 * 1024)

interface Case {
  name: string
  method?: string
  path: string
  contentType?: string
  headers?: Record<string, string>
  body?: string
  /** Vault routes: send a valid DPoP-bound token and proof. */
  vault?: boolean
  status: number
  error: string
  description?: string
}

const tooLarge = { status: 413, error: 'invalid_request', description: 'Request body too large' }
const onlyForm = (path: string) => ({
  status: 400,
  error: 'invalid_request',
  description: `only application/x-www-form-urlencoded content-type bodies are supported on POST ${path}`,
})

const CASES: Case[] = [
  // Token endpoint (oidc-provider)
  {
    name: 'token: JSON body',
    path: '/oauth/token',
    contentType: JSON_CT,
    body: '{"grant_type":"client_credentials"}',
    ...onlyForm('/oauth/token'),
  },
  {
    name: 'token: text/plain',
    path: '/oauth/token',
    contentType: 'text/plain',
    body: 'grant_type=client_credentials',
    ...onlyForm('/oauth/token'),
  },
  {
    name: 'token: body over the limit',
    path: '/oauth/token',
    contentType: FORM,
    body: `grant_type=client_credentials&x=${OVER_OIDC_LIMIT}`,
    ...tooLarge,
  },
  {
    name: 'token: 200 KiB body',
    path: '/oauth/token',
    contentType: FORM,
    body: `x=${BIG}`,
    ...tooLarge,
  },
  {
    name: 'token: broken percent-encoding',
    path: '/oauth/token',
    contentType: FORM,
    body: 'grant_type=%%%&client_id=%E0%A4%A',
    status: 401,
    error: 'invalid_client',
    description: 'client authentication failed',
  },
  {
    name: 'token: garbage Basic header',
    path: '/oauth/token',
    contentType: FORM,
    headers: { authorization: 'Basic !!!' },
    body: 'grant_type=client_credentials',
    status: 400,
    error: 'invalid_request',
    description: 'invalid authorization header value format',
  },
  {
    name: 'token: badly encoded Basic credentials',
    path: '/oauth/token',
    contentType: FORM,
    headers: { authorization: `Basic ${Buffer.from('a%zz:b').toString('base64')}` },
    body: 'grant_type=client_credentials',
    status: 400,
    error: 'invalid_request',
    description: 'client_id and client_secret in the authorization header are not properly encoded',
  },
  {
    name: 'token: duplicate parameters',
    path: '/oauth/token',
    contentType: FORM,
    headers: { authorization: basic(ALICE) },
    body: 'grant_type=client_credentials&grant_type=client_credentials',
    status: 400,
    error: 'invalid_request',
    description: "'grant_type' parameter must not be provided twice",
  },
  {
    name: 'token: unknown grant type',
    path: '/oauth/token',
    contentType: FORM,
    headers: { authorization: basic(ALICE) },
    body: 'grant_type=urn:x:evil',
    status: 400,
    error: 'unsupported_grant_type',
    description: 'unsupported grant_type requested',
  },
  {
    name: 'token: no body at all',
    path: '/oauth/token',
    status: 400,
    error: 'invalid_request',
    description: 'no client authentication mechanism provided',
  },
  {
    name: 'token: GET',
    method: 'GET',
    path: '/oauth/token',
    status: 405,
    error: 'invalid_request',
    description: 'Method not allowed',
  },
  {
    name: 'token: garbage DPoP header',
    path: '/oauth/token',
    contentType: FORM,
    headers: { authorization: basic(ALICE), dpop: 'a.b.c' },
    body: 'grant_type=client_credentials&resource=http://localhost:4100/mcp',
    status: 400,
    error: 'invalid_dpop_proof',
    description: 'invalid DPoP key binding',
  },
  // Registration (oidc-provider, open DCR in DAUTH_DEV)
  {
    name: 'register: truncated JSON',
    path: '/oauth/register',
    contentType: JSON_CT,
    body: '{"redirect_uris":',
    status: 400,
    error: 'invalid_request',
    description: 'failed to parse the request body',
  },
  {
    name: 'register: JSON array',
    path: '/oauth/register',
    contentType: JSON_CT,
    body: '[]',
    status: 400,
    error: 'invalid_request',
    description: 'client registration request must be a JSON object',
  },
  {
    name: 'register: JSON null',
    path: '/oauth/register',
    contentType: JSON_CT,
    body: 'null',
    status: 400,
    error: 'invalid_request',
    description: 'client registration request must be a JSON object',
  },
  {
    name: 'register: redirect_uris not an array',
    path: '/oauth/register',
    contentType: JSON_CT,
    body: '{"redirect_uris":"http://127.0.0.1/cb"}',
    status: 400,
    error: 'invalid_redirect_uri',
    description: 'redirect_uris must be an array',
  },
  {
    name: 'register: redirect_uris of numbers',
    path: '/oauth/register',
    contentType: JSON_CT,
    body: '{"redirect_uris":[1]}',
    status: 400,
    error: 'invalid_redirect_uri',
    description: 'redirect_uris must only contain strings',
  },
  {
    name: 'register: form body',
    path: '/oauth/register',
    contentType: FORM,
    body: 'redirect_uris=x',
    status: 400,
    error: 'invalid_request',
    description: 'only application/json content-type bodies are supported on POST /oauth/register',
  },
  {
    name: 'register: 200 KiB client_name',
    path: '/oauth/register',
    contentType: JSON_CT,
    body: JSON.stringify({ client_name: BIG, redirect_uris: ['http://127.0.0.1/cb'] }),
    ...tooLarge,
  },
  {
    name: 'register: DELETE without id',
    method: 'DELETE',
    path: '/oauth/register',
    status: 405,
    error: 'invalid_request',
    description: 'Method not allowed',
  },
  // Introspection / revocation
  {
    name: 'introspect: JSON body',
    path: '/oauth/introspect',
    contentType: JSON_CT,
    body: '{"token":"x"}',
    ...onlyForm('/oauth/introspect'),
  },
  {
    name: 'revoke: token as array syntax',
    path: '/oauth/revoke',
    contentType: FORM,
    headers: { authorization: basic(ALICE) },
    body: 'token[]=a',
    status: 400,
    error: 'invalid_request',
    description: "missing required parameter 'token'",
  },
  {
    name: 'unknown /oauth path',
    method: 'GET',
    path: '/oauth/nothing-here',
    status: 404,
    error: 'not_found',
    description: 'Not found',
  },
  {
    name: 'dot-segments out of /oauth',
    method: 'GET',
    path: '/oauth/%2e%2e/%2e%2e/etc/passwd',
    status: 404,
    error: 'not_found',
    description: 'Not found',
  },
  {
    name: 'unknown /oauth endpoint',
    path: '/oauth/device/auth',
    contentType: FORM,
    body: 'a=b',
    status: 404,
    error: 'not_found',
    description: 'Not found',
  },
  // Vault (fastify routes)
  {
    name: 'vault: truncated JSON',
    vault: true,
    path: '/connections',
    contentType: JSON_CT,
    body: '{"name":',
    status: 400,
    error: 'invalid_request',
    description: 'Malformed JSON body',
  },
  {
    name: 'vault: JSON array',
    vault: true,
    path: '/connections',
    contentType: JSON_CT,
    body: '[]',
    status: 400,
    error: 'invalid_request',
    description: 'Expected a JSON object body',
  },
  {
    name: 'vault: text/plain',
    vault: true,
    path: '/connections',
    contentType: 'text/plain',
    body: '{}',
    status: 415,
    error: 'unsupported_media_type',
    description: 'Unsupported content type',
  },
  {
    name: 'vault: form body',
    vault: true,
    path: '/connections',
    contentType: FORM,
    body: 'name=demo',
    status: 415,
    error: 'unsupported_media_type',
    description: 'Unsupported content type',
  },
  {
    name: 'vault: 200 KiB body',
    vault: true,
    path: '/connections',
    contentType: JSON_CT,
    body: JSON.stringify({ name: BIG }),
    status: 413,
    error: 'payload_too_large',
    description: 'Request body too large',
  },
  {
    name: 'vault: operator-injection name',
    vault: true,
    path: '/connections',
    contentType: JSON_CT,
    body: '{"name":{"$gt":""},"provider":"demo"}',
    status: 400,
    error: 'invalid_request',
    description: 'name must match ^[a-z0-9][a-z0-9_-]{0,62}$',
  },
  {
    name: 'vault: upload with truncated JSON',
    vault: true,
    method: 'PUT',
    path: `/connections/conn_${'A'.repeat(43)}/credential`,
    contentType: JSON_CT,
    body: '{"envelope":',
    status: 400,
    error: 'invalid_request',
    description: 'Malformed JSON body',
  },
  {
    name: 'vault: no token',
    path: '/connections',
    contentType: JSON_CT,
    body: '{}',
    status: 401,
    error: 'invalid_token',
  },
]

/** Nothing that betrays the implementation: stack frames, paths, driver or SQL text. */
const INTERNAL =
  /\bat [\w.<>]+ \(|node_modules|\/src\/|\.ts:\d|sqlite|postgres|SELECT |TypeError|SyntaxError|Unexpected token|ECONN/i

describe('hostile requests', () => {
  let server: TestServer
  let key: DpopKeyPair
  let token: string

  before(async () => {
    server = await startTestServer({ dev: true })
    key = await generateDpopKeyPair()
    token = await clientCredentialsToken(
      server,
      ALICE,
      key,
      `${server.url}/connections`,
      'connections:read connections:write',
    )
  })
  after(() => server.close())

  async function send(c: Omit<Case, 'status' | 'error' | 'name'>) {
    const method = c.method ?? 'POST'
    const url = `${server.url}${c.path}`
    const headers: Record<string, string> = { ...c.headers }
    if (c.contentType) headers['content-type'] = c.contentType
    if (c.vault) {
      headers.authorization = `DPoP ${token}`
      headers.dpop = await createDpopProof(key, { htm: method, htu: url, accessToken: token })
    }
    const init: RequestInit = { method, headers }
    if (c.body !== undefined) init.body = c.body
    const res = await fetch(url, init)
    return {
      status: res.status,
      type: res.headers.get('content-type'),
      res,
      text: await res.text(),
    }
  }

  for (const c of CASES) {
    test(c.name, async () => {
      const { status, type, res, text } = await send(c)
      assert.equal(status, c.status, text)
      assert.match(type ?? '', /^application\/json/)
      // oidc-provider's revocation endpoint sends its errors without Cache-Control.
      if (c.path !== '/oauth/revoke') assert.equal(res.headers.get('cache-control'), 'no-store')
      const body = JSON.parse(text) as Record<string, unknown>
      assert.equal(body.error, c.error)
      if (c.description !== undefined) assert.equal(body.error_description, c.description)
      assert.deepEqual(
        Object.keys(body).filter((k) => k !== 'error' && k !== 'error_description'),
        [],
      )
      assert.doesNotMatch(text, INTERNAL)
      if (status === 405) assert.ok(res.headers.get('allow'))
    })
  }

  test('seeded random bodies and content types: always a 4xx error JSON, never a 500', async () => {
    // Deterministic: a SHA-256 counter stream, so a failure reproduces exactly.
    let counter = 0
    const bytes = (n: number): Buffer => {
      const out: Buffer[] = []
      for (let len = 0; len < n; len += 32)
        out.push(createHash('sha256').update(`dauth-fuzz-${counter++}`).digest())
      return Buffer.concat(out).subarray(0, n)
    }
    const paths = [
      '/oauth/token',
      '/oauth/register',
      '/oauth/introspect',
      '/oauth/revoke',
      '/oauth/par',
    ]
    const types = [
      FORM,
      JSON_CT,
      'text/plain',
      'application/xml',
      'multipart/form-data; boundary=x',
      '',
    ]
    const shapes = [
      (b: Buffer) => b.toString('latin1'),
      (b: Buffer) =>
        `grant_type=${b.toString('hex')}&client_id=${encodeURIComponent(b.toString('base64'))}`,
      (b: Buffer) =>
        JSON.stringify({
          redirect_uris: [b.toString('base64')],
          [b.toString('hex', 0, 4)]: b.toString('base64'),
        }),
      (b: Buffer) => `{"${b.toString('latin1')}`,
    ]
    for (let i = 0; i < 120; i++) {
      const [p, t, s] = bytes(3)
      const body = shapes[s! % shapes.length]!(bytes(1 + (p! % 200)))
      const path = paths[p! % paths.length]!
      const contentType = types[t! % types.length]!
      const { status, type, text } = await send(
        contentType ? { path, contentType, body } : { path, body },
      )
      assert.ok(status >= 400 && status < 500, `${path} ${contentType} → ${status} ${text}`)
      assert.match(type ?? '', /^application\/json/, `${path} ${contentType}`)
      assert.equal(typeof (JSON.parse(text) as { error?: unknown }).error, 'string')
      assert.doesNotMatch(text, INTERNAL)
    }
  })
})
