// Single use under concurrency: an authorization code or a refresh token presented by two
// requests at once is honoured at most once, and the loser revokes the grant (RFC 6749
// §4.1.2 / OAuth 2.1 refresh-token reuse detection). oidc-provider checks `consumed` and
// then consumes (two steps); the store's compare-and-set consume closes the window.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { createDpopProof, generateDpopKeyPair, type DpopKeyPair } from '@dauth/protocol'
import {
  MCP_CLIENT,
  PUBLIC_REDIRECT,
  basic,
  startTestServer,
  tokenRequest,
  type TestServer,
} from './helpers.ts'
import { createDatabase, postgresAvailable } from './helpers/backends.ts'
import { freshCode } from './helpers/formBrowser.ts'

const pgUp = await postgresAvailable()

for (const backend of ['sqlite', 'postgres'] as const) {
  describe(`concurrent single use (${backend})`, {
    skip: backend === 'postgres' && !pgUp && 'PostgreSQL unreachable',
  }, () => {
    let server: TestServer
    let key: DpopKeyPair
    let drop: (() => Promise<void>) | undefined

    before(async () => {
      const db = backend === 'postgres' ? await createDatabase() : undefined
      drop = db ? () => db.drop() : undefined
      server = await startTestServer({ dev: true, ...(db ? { databaseUrl: db.url } : {}) })
      key = await generateDpopKeyPair()
    })
    after(async () => {
      await server.close()
      await drop?.()
    })

    const proof = () => createDpopProof(key, { htm: 'POST', htu: server.tokenEndpoint })
    const introspect = async (token: string) => {
      const res = await fetch(`${server.url}/oauth/introspect`, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          authorization: basic(MCP_CLIENT),
        },
        body: new URLSearchParams({ token }),
      })
      return (await res.json()) as { active: boolean }
    }

    test('one code, five simultaneous redemptions: at most one token set, and it is revoked', async () => {
      const { code, verifier } = await freshCode(server)
      const params = {
        grant_type: 'authorization_code',
        code,
        code_verifier: verifier,
        redirect_uri: PUBLIC_REDIRECT,
        client_id: 'public-app',
      }
      const results = await Promise.all(
        Array.from({ length: 5 }, async () =>
          tokenRequest(server, params, { dpop: await proof() }),
        ),
      )
      const won = results.filter((r) => r.status === 200)
      assert.ok(won.length <= 1, `${won.length} redemptions of one code succeeded`)
      for (const lost of results.filter((r) => r.status !== 200)) {
        assert.equal(lost.status, 400)
        assert.equal(lost.body.error, 'invalid_grant')
      }
      // A reuse was detected: whatever the winner got is dead.
      for (const w of won) {
        assert.deepEqual(await introspect(w.body.access_token as string), { active: false })
        const refreshed = await tokenRequest(
          server,
          {
            grant_type: 'refresh_token',
            refresh_token: w.body.refresh_token as string,
            client_id: 'public-app',
          },
          { dpop: await proof() },
        )
        assert.equal(refreshed.body.error, 'invalid_grant')
      }
    })

    test('one refresh token, five simultaneous refreshes: at most one succeeds, family revoked', async () => {
      const { code, verifier } = await freshCode(server)
      const first = await tokenRequest(
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
      assert.equal(first.status, 200)
      const r1 = first.body.refresh_token as string
      const results = await Promise.all(
        Array.from({ length: 5 }, async () =>
          tokenRequest(
            server,
            { grant_type: 'refresh_token', refresh_token: r1, client_id: 'public-app' },
            { dpop: await proof() },
          ),
        ),
      )
      const won = results.filter((r) => r.status === 200)
      assert.ok(won.length <= 1, `${won.length} refreshes with one token succeeded`)
      for (const lost of results.filter((r) => r.status !== 200)) {
        assert.equal(lost.status, 400)
        assert.equal(lost.body.error, 'invalid_grant')
      }
      assert.deepEqual(await introspect(first.body.access_token as string), { active: false })
      for (const w of won) {
        assert.deepEqual(await introspect(w.body.access_token as string), { active: false })
        const next = await tokenRequest(
          server,
          {
            grant_type: 'refresh_token',
            refresh_token: w.body.refresh_token as string,
            client_id: 'public-app',
          },
          { dpop: await proof() },
        )
        assert.equal(next.body.error, 'invalid_grant')
      }
    })
  })
}
