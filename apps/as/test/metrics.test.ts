// Prometheus /metrics: token issuance by grant type, failures by reason, vault operations,
// with no secret, token, client id or username in any label.
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import {
  ALICE,
  MCP_RESOURCE,
  PUBLIC_REDIRECT,
  createActiveConnection,
  createDpopProof,
  dpopRequest,
  generateDpopKeyPair,
  startTestServer,
  tokenRequest,
  type TestServer,
} from './helpers.ts'
import { Browser, csrfOf, freshCode } from './helpers/formBrowser.ts'

/** `name{labels} value` samples of the exposition text. */
function samples(text: string): Map<string, number> {
  const out = new Map<string, number>()
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue
    const at = line.lastIndexOf(' ')
    out.set(line.slice(0, at), Number(line.slice(at + 1)))
  }
  return out
}

async function scrape(server: TestServer, headers: Record<string, string> = {}) {
  const res = await fetch(`${server.url}/metrics`, { headers })
  return { status: res.status, type: res.headers.get('content-type'), text: await res.text() }
}

describe('GET /metrics', () => {
  test('counts issuance, failures by reason and vault operations; no secret in any label', async (t) => {
    const server = await startTestServer({ dev: true, loginMaxFailures: 1 })
    t.after(() => server.close())
    const before = samples((await scrape(server)).text)
    // Every series exists at zero before any traffic.
    assert.equal(before.get('dauth_as_tokens_issued_total{grant_type="client_credentials"}'), 0)
    assert.equal(before.get('dauth_as_auth_failures_total{reason="invalid_dpop_proof"}'), 0)

    const key = await generateDpopKeyPair()
    const params = { grant_type: 'client_credentials', resource: MCP_RESOURCE, scope: 'read' }
    const proof = await createDpopProof(key, { htm: 'POST', htu: server.tokenEndpoint })
    const issued = await tokenRequest(server, params, { client: ALICE, dpop: proof })
    assert.equal(issued.status, 200)
    // Replayed proof: oidc-provider's invalid_grant.
    assert.equal((await tokenRequest(server, params, { client: ALICE, dpop: proof })).status, 400)
    const wrongSecret = await tokenRequest(server, params, {
      client: { client_id: ALICE.client_id, client_secret: 'wrong-secret-value' },
      dpop: await createDpopProof(key, { htm: 'POST', htu: server.tokenEndpoint }),
    })
    assert.equal(wrongSecret.body.error, 'invalid_client')
    const badProof = await tokenRequest(server, params, { client: ALICE, dpop: 'not-a-jwt' })
    assert.equal(badProof.body.error, 'invalid_dpop_proof')

    // Vault: create + upload (and their client-credentials tokens), list, revoke; then a
    // request without a token.
    const { connectionId, token } = await createActiveConnection(server, ALICE, key)
    assert.equal((await dpopRequest(`${server.url}/connections`, 'GET', token, key)).status, 200)
    assert.equal(
      (await dpopRequest(`${server.url}/connections/${connectionId}`, 'DELETE', token, key)).status,
      204,
    )
    const anonymous = await fetch(`${server.url}/connections`)
    assert.equal(anonymous.status, 401)

    // Sign-in: one failure, then the limit (loginMaxFailures: 1).
    const browser = new Browser(server.url)
    const start = await browser.request(
      `/oauth/authorize?${new URLSearchParams({
        client_id: 'public-app',
        response_type: 'code',
        redirect_uri: PUBLIC_REDIRECT,
        resource: MCP_RESOURCE,
        scope: 'read',
        code_challenge: createHash('sha256').update(randomBytes(32)).digest('base64url'),
        code_challenge_method: 'S256',
      })}`,
    )
    const page = await browser.request(start.location!)
    const form = { csrf: csrfOf(page.text), username: 'demo', password: 'wrong-password-xyz' }
    const login = (status: number) =>
      browser
        .request(`${start.location!}/login`, { method: 'POST', form })
        .then((r) => assert.equal(r.status, status))
    await login(401)
    await login(429)

    const scraped = await scrape(server)
    assert.equal(scraped.status, 200)
    assert.equal(scraped.type, 'text/plain; version=0.0.4; charset=utf-8')
    const after = samples(scraped.text)
    const delta = (series: string) => (after.get(series) ?? 0) - (before.get(series) ?? 0)
    // The one direct token + the vault token of createActiveConnection.
    assert.equal(delta('dauth_as_tokens_issued_total{grant_type="client_credentials"}'), 2)
    assert.equal(delta('dauth_as_tokens_issued_total{grant_type="authorization_code"}'), 0)
    assert.equal(delta('dauth_as_auth_failures_total{reason="invalid_grant"}'), 1)
    assert.equal(delta('dauth_as_auth_failures_total{reason="invalid_client"}'), 1)
    assert.equal(delta('dauth_as_auth_failures_total{reason="invalid_dpop_proof"}'), 1)
    assert.equal(delta('dauth_as_auth_failures_total{reason="invalid_token"}'), 1)
    assert.equal(delta('dauth_as_auth_failures_total{reason="login_failed"}'), 1)
    assert.equal(delta('dauth_as_auth_failures_total{reason="login_rate_limited"}'), 1)
    assert.equal(delta('dauth_as_vault_operations_total{operation="create",status="201"}'), 1)
    assert.equal(
      delta('dauth_as_vault_operations_total{operation="upload_envelope",status="200"}'),
      1,
    )
    assert.equal(delta('dauth_as_vault_operations_total{operation="list",status="200"}'), 1)
    assert.equal(delta('dauth_as_vault_operations_total{operation="list",status="401"}'), 1)
    assert.equal(delta('dauth_as_vault_operations_total{operation="revoke",status="204"}'), 1)

    for (const secret of [
      ALICE.client_id,
      ALICE.client_secret,
      'wrong-secret-value',
      'wrong-password-xyz',
      'demo',
      connectionId,
      token,
      proof,
      'public-app',
    ]) {
      assert.equal(scraped.text.includes(secret), false, 'no identifier or secret in /metrics')
    }
  })

  test('authorization_code and refresh_token issuance are counted by grant type', async (t) => {
    const server = await startTestServer({ dev: true })
    t.after(() => server.close())
    const key = await generateDpopKeyPair()
    const proof = () => createDpopProof(key, { htm: 'POST', htu: server.tokenEndpoint })
    const before = samples((await scrape(server)).text)
    const { code, verifier } = await freshCode(server)
    const tokens = await tokenRequest(
      server,
      {
        grant_type: 'authorization_code',
        code,
        code_verifier: verifier,
        redirect_uri: PUBLIC_REDIRECT,
        client_id: 'public-app',
      },
      { dpop: await proof() },
    )
    assert.equal(tokens.status, 200)
    const refreshed = await tokenRequest(
      server,
      {
        grant_type: 'refresh_token',
        refresh_token: tokens.body.refresh_token as string,
        client_id: 'public-app',
      },
      { dpop: await proof() },
    )
    assert.equal(refreshed.status, 200)
    const after = samples((await scrape(server)).text)
    for (const [grantType, count] of [
      ['authorization_code', 1],
      ['refresh_token', 1],
      ['client_credentials', 0],
    ] as const) {
      const series = `dauth_as_tokens_issued_total{grant_type="${grantType}"}`
      assert.equal((after.get(series) ?? 0) - (before.get(series) ?? 0), count, grantType)
    }
  })

  test('with a metrics token, /metrics requires it', async (t) => {
    const metricsToken = randomBytes(24).toString('base64url')
    const server = await startTestServer({ metricsToken })
    t.after(() => server.close())
    for (const headers of [
      {},
      { authorization: 'Bearer wrong' },
      { authorization: metricsToken },
    ]) {
      const res = await scrape(server, headers)
      assert.equal(res.status, 401)
      assert.deepEqual(JSON.parse(res.text), {
        error: 'invalid_token',
        error_description: 'Metrics require the metrics token',
      })
    }
    const ok = await scrape(server, { authorization: `Bearer ${metricsToken}` })
    assert.equal(ok.status, 200)
    assert.match(ok.text, /^# HELP dauth_as_tokens_issued_total /m)
  })
})
