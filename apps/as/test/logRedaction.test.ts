// pino redaction audit (issue #9): a canary in every header and body that can carry a token,
// a proof, a cookie, a client secret, a password or an envelope appears in no log line, on
// success and error paths, at the most verbose level; and the redact configuration itself
// censors every sensitive field name at depths 0 to 2.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { pino } from 'pino'
import { LOG_REDACT, SENSITIVE_LOG_FIELDS } from '@dauth/protocol/log'
import {
  ALICE,
  createDpopProof,
  generateDpopKeyPair,
  MCP_RESOURCE,
  startTestServer,
  tokenRequest,
} from './helpers.ts'

const CANARY = 'canary-7f3a9c'

test('the redact configuration censors every sensitive field at depths 0, 1 and 2', () => {
  const lines: string[] = []
  const log = pino({ redact: LOG_REDACT }, { write: (line: string) => lines.push(line) })
  for (const field of SENSITIVE_LOG_FIELDS) {
    log.info({ [field]: CANARY, a: { [field]: CANARY, b: { [field]: CANARY } } }, 'x')
    log.info({ req: { headers: { [field]: CANARY } }, res: { headers: { [field]: CANARY } } })
  }
  assert.equal(lines.length, SENSITIVE_LOG_FIELDS.length * 2)
  assert.ok(
    !lines.join('').includes(CANARY),
    lines.find((line) => line.includes(CANARY)),
  )
  assert.ok(lines[0]?.includes('"[Redacted]"'))
})

test('a canary in headers and bodies reaches no AS log line (success and error paths)', async () => {
  const lines: string[] = []
  const server = await startTestServer({
    logger: { level: 'trace' },
    logStream: { write: (line) => lines.push(line) },
  })
  const headers = {
    authorization: `Bearer ${CANARY}-authz`,
    dpop: `${CANARY}-dpop`,
    cookie: `_session=${CANARY}-cookie`,
  }
  const statuses: number[] = []
  let accessToken = ''
  try {
    const send = async (path: string, init: RequestInit = {}): Promise<void> => {
      const response = await fetch(`${server.url}${path}`, init)
      await response.arrayBuffer()
      statuses.push(response.status)
    }
    // success paths
    await send('/healthz', { headers })
    await send('/.well-known/oauth-authorization-server', { headers })
    const issued = await tokenRequest(
      server,
      { grant_type: 'client_credentials', resource: MCP_RESOURCE, scope: 'read' },
      {
        client: ALICE,
        dpop: await createDpopProof(await generateDpopKeyPair(), {
          htm: 'POST',
          htu: server.tokenEndpoint,
        }),
        headers: { cookie: headers.cookie },
      },
    )
    statuses.push(issued.status)
    accessToken = String(issued.body.access_token)
    // error paths: a wrong client secret, a password grant, a bogus token at the vault,
    // an envelope upload without a token, a malformed JSON body, a refused content type
    await send('/oauth/token', {
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'password',
        username: 'alice',
        password: `${CANARY}-password`,
        client_id: ALICE.client_id,
        client_secret: `${CANARY}-secret`,
      }),
    })
    await send('/connections', { headers })
    await send('/connections/conn_1/credential', {
      method: 'PUT',
      headers: { ...headers, 'content-type': 'application/json' },
      body: JSON.stringify({ envelope: { ct: `${CANARY}-envelope` }, upload_nonce: CANARY }),
    })
    await send('/connections', {
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/json' },
      body: `{"client_secret":"${CANARY}-json`,
    })
    await send('/connections', {
      method: 'POST',
      headers: { ...headers, 'content-type': 'text/plain' },
      body: `${CANARY}-text`,
    })
    await send('/nothing', { headers })
    // URLs: an ID token in a query (logout is not enabled here, but a caller may send it anyway),
    // state in the authorization request, an envelope handle in a path
    await send(`/oauth/session/end?id_token_hint=${CANARY}-idtoken`)
    await send(`/oauth/authorize?client_id=${CANARY}-client&state=${CANARY}-state`)
    await send(`/enclave/envelopes/${CANARY}-handle`)
  } finally {
    await server.close()
  }
  assert.deepEqual(statuses, [200, 200, 200, 400, 401, 401, 400, 415, 404, 404, 400, 401])
  const log = lines.join('')
  assert.ok(log.includes('"msg":"incoming request"'), 'the capture works')
  // The request lines keep the path, say that a query was there, and name the route's parameter.
  const urls = lines
    .map((line) => JSON.parse(line) as { msg?: string; req?: { url?: string } })
    .filter((entry) => entry.msg === 'incoming request')
    .map((entry) => entry.req?.url)
  assert.deepEqual(urls.slice(-3), [
    '/oauth/session/end?…',
    '/oauth/authorize?…',
    '/enclave/envelopes/:handle',
  ])
  assert.ok(
    !log.includes(CANARY),
    lines.find((line) => line.includes(CANARY)),
  )
  // The token issued above is in no line either.
  assert.ok(accessToken.length > 20 && !log.includes(accessToken))
})
