// Issue #7 (5): property-based fuzzing of the running AS token and registration endpoints and
// the enclave's /dispatch (without and with a valid dispatch token): random input never gives
// a 5xx and never hangs (each request has a 5 s limit).
import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import { after, before, test } from 'node:test'
import { createDpopProof, type DpopKeyPair, generateDpopKeyPair } from '@dauth/protocol'
import fc from 'fast-check'
import { addConnection, newOwner, type Owner, startTestStack, type TestStack } from './helpers.ts'

const RUNS = 60
const REQUEST_LIMIT_MS = 5000

let t: TestStack
let owner: Owner
let handle: string
let tokenEndpoint: string
let registrationEndpoint: string

before(async () => {
  t = await startTestStack()
  owner = await newOwner(t.stack.issuer, t.stack.mcpUrl, t.stack.paths.attestationFile)
  ;({ handle } = await addConnection(owner, new URL(t.stack.upstreamUrl).host, 'fuzz-secret', {
    type: 'bearer',
  }))
  const meta = (await (
    await fetch(`${t.stack.issuer}/.well-known/oauth-authorization-server`)
  ).json()) as { token_endpoint: string; registration_endpoint: string }
  tokenEndpoint = meta.token_endpoint
  registrationEndpoint = meta.registration_endpoint
})

after(async () => {
  await t?.close()
})

async function send(url: string, init: RequestInit): Promise<{ status: number; body: string }> {
  const res = await fetch(url, { ...init, signal: AbortSignal.timeout(REQUEST_LIMIT_MS) })
  return { status: res.status, body: await res.text() }
}

const noServerError = (what: string, answer: { status: number; body: string }, input: unknown) =>
  assert.ok(
    answer.status < 500,
    `${what} answered ${answer.status} ${answer.body.slice(0, 200)} for ${JSON.stringify(input).slice(0, 500)}`,
  )

const formKeys = fc.constantFrom(
  'grant_type',
  'client_id',
  'client_secret',
  'resource',
  'scope',
  'subject_token',
  'subject_token_type',
  'connections',
  'code',
  'redirect_uri',
  'code_verifier',
  'refresh_token',
  'client_assertion',
  'client_assertion_type',
  'audience',
)
const formValue = fc.oneof(
  fc.string(),
  fc.constantFrom(
    'client_credentials',
    'urn:ietf:params:oauth:grant-type:token-exchange',
    'authorization_code',
    'refresh_token',
    'urn:ietf:params:oauth:token-type:access_token',
    'read api:call',
    'http://localhost/mcp',
  ),
  fc.string({ unit: 'binary', maxLength: 64 }),
)

test('AS token endpoint: random forms, auth headers and DPoP headers never give a 5xx', async () => {
  const key = await generateDpopKeyPair()
  const basic = Buffer.from(`${owner.clientId}:${owner.clientSecret}`).toString('base64')
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.tuple(formKeys, formValue), { maxLength: 8 }),
      fc.constantFrom('none', 'valid', 'garbage'),
      fc.constantFrom('none', 'valid', 'garbage'),
      fc.constantFrom('application/x-www-form-urlencoded', 'application/json', 'text/plain'),
      async (pairs, auth, dpop, contentType) => {
        const headers: Record<string, string> = { 'content-type': contentType }
        if (auth === 'valid') headers.authorization = `Basic ${basic}`
        if (auth === 'garbage') headers.authorization = 'Basic !!!not-base64:'
        if (dpop === 'valid')
          headers.dpop = await createDpopProof(key, { htm: 'POST', htu: tokenEndpoint })
        if (dpop === 'garbage') headers.dpop = 'a.b.c'
        const body =
          contentType === 'application/json'
            ? JSON.stringify(Object.fromEntries(pairs))
            : new URLSearchParams(pairs).toString()
        noServerError(
          'token endpoint',
          await send(tokenEndpoint, { method: 'POST', headers, body }),
          { pairs, auth, dpop, contentType },
        )
      },
    ),
    { numRuns: RUNS },
  )
})

test('AS registration endpoint: random JSON bodies never give a 5xx', async () => {
  const metadata = fc.record(
    {
      client_name: fc.oneof(fc.string(), fc.integer()),
      grant_types: fc.oneof(
        fc.array(fc.constantFrom('client_credentials', 'authorization_code', 'implicit', 'x')),
        fc.string(),
      ),
      response_types: fc.array(fc.constantFrom('code', 'token', '')),
      redirect_uris: fc.oneof(fc.array(fc.oneof(fc.webUrl(), fc.string())), fc.constant(null)),
      token_endpoint_auth_method: fc.constantFrom(
        'client_secret_basic',
        'none',
        'private_key_jwt',
        'tls_client_auth',
        '',
      ),
      dpop_bound_access_tokens: fc.oneof(fc.boolean(), fc.string()),
      jwks: fc.oneof(fc.constant({ keys: [{}] }), fc.jsonValue()),
      scope: fc.string(),
    },
    { requiredKeys: [] },
  )
  await fc.assert(
    fc.asyncProperty(
      fc.oneof(
        metadata.map((m) => JSON.stringify(m)),
        fc.jsonValue().map((v) => JSON.stringify(v)),
        fc.string(),
      ),
      async (body) => {
        noServerError(
          'registration endpoint',
          await send(registrationEndpoint, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body,
          }),
          body,
        )
      },
    ),
    { numRuns: RUNS },
  )
})

const dispatchRequest = fc.record(
  {
    method: fc.oneof(fc.constantFrom('GET', 'POST', 'HEAD', 'TRACE', 'get'), fc.string()),
    host: fc.oneof(fc.constant(undefined), fc.domain(), fc.string()),
    path: fc.oneof(
      fc.constantFrom('/user', '/echo', '//x', '/../etc', '/a b'),
      fc.string().map((s) => `/${s}`),
      fc.string(),
    ),
    query: fc.oneof(
      fc.dictionary(fc.string(), fc.oneof(fc.string(), fc.array(fc.string()))),
      fc.jsonValue(),
    ),
    headers: fc.oneof(fc.dictionary(fc.string(), fc.string()), fc.jsonValue()),
    body: fc.oneof(fc.string(), fc.jsonValue()),
    body_encoding: fc.constantFrom('base64', 'utf8', undefined),
  },
  { requiredKeys: [] },
)

test('enclave /dispatch without a valid token: random bodies never give a 5xx', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.oneof(
        fc.record({ handle: fc.string(), request: dispatchRequest }).map((v) => JSON.stringify(v)),
        fc.string(),
      ),
      fc.constantFrom('', 'DPoP x.y.z', 'Bearer abc', 'DPoP '),
      async (body, authorization) => {
        noServerError(
          'enclave /dispatch',
          await send(`${t.stack.enclaveUrl}/dispatch`, {
            method: 'POST',
            headers: {
              'content-type': 'application/json',
              ...(authorization ? { authorization, dpop: 'a.b.c' } : {}),
            },
            body,
          }),
          { body, authorization },
        )
      },
    ),
    { numRuns: RUNS },
  )
})

test('enclave /dispatch with a valid dispatch token and fresh proofs: random bodies never give a 5xx', async () => {
  const { token, key } = await dispatchToken()
  const htu = `${t.stack.enclaveUrl}/dispatch`
  let accepted = 0
  await fc.assert(
    fc.asyncProperty(
      fc.oneof(
        fc
          .record({ handle: fc.oneof(fc.constant(handle), fc.string()), request: dispatchRequest })
          .map((v) => JSON.stringify(v)),
        fc.jsonValue().map((v) => JSON.stringify(v)),
      ),
      async (body) => {
        const answer = await send(htu, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            authorization: `DPoP ${token}`,
            dpop: await createDpopProof(key, { htm: 'POST', htu, accessToken: token }),
          },
          body,
        })
        noServerError('enclave /dispatch (authorized)', answer, body)
        if (answer.status !== 401) accepted += 1
      },
    ),
    { numRuns: RUNS },
  )
  // The token and proofs were good: the bodies reached the request validation.
  assert.equal(accepted, RUNS)
})

/** A dispatch token obtained exactly as the MCP server does (RFC 8693 exchange). */
async function dispatchToken(): Promise<{ token: string; key: DpopKeyPair }> {
  const subject = await owner.mcpAuth.getAccessToken()
  assert.ok(subject)
  const mcpClient = JSON.parse(await readFile(t.stack.paths.mcpClientFile, 'utf8')) as {
    client_id: string
    client_secret: string
  }
  const key = await generateDpopKeyPair()
  const res = await fetch(tokenEndpoint, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: `Basic ${Buffer.from(`${mcpClient.client_id}:${mcpClient.client_secret}`).toString('base64')}`,
      dpop: await createDpopProof(key, { htm: 'POST', htu: tokenEndpoint }),
    },
    body: new URLSearchParams({
      grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
      subject_token: subject.value,
      subject_token_type: 'urn:ietf:params:oauth:token-type:access_token',
      resource: t.stack.enclaveUrl,
      connections: handle,
    }),
  })
  assert.equal(res.status, 200, await res.clone().text())
  return { token: ((await res.json()) as { access_token: string }).access_token, key }
}
