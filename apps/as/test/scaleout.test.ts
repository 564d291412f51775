// Two AS processes (src/main.ts) sharing one PostgreSQL database and one Redis key prefix,
// both serving the same issuer. tests/security/scaleout.test.ts runs the whole stack through
// round-robin proxies; this pins down, at the AS level and per request, which instance
// does what: an interaction started at one continues at the other, a code issued by one
// redeems at the other, a proof used at one is refused at the other, tokens of either
// introspect at both, and a refresh-token reuse at one revokes the family at both.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createDpopProof, generateDpopKeyPair, type DpopKeyPair } from '@dauth/protocol'
import {
  ALICE,
  MCP_CLIENT,
  MCP_RESOURCE,
  PUBLIC_REDIRECT,
  basic,
  decode,
  testClients,
  testResources,
} from './helpers.ts'
import {
  createDatabase,
  postgresAvailable,
  redisAvailable,
  redisNamespace,
  REDIS_URL,
} from './helpers/backends.ts'
import { authorizeUrl, Browser, csrfOf, freshCode, pkce } from './helpers/formBrowser.ts'
import { freePort, spawnAs, type AsProcess } from './helpers/process.ts'

const backendsUp = (await postgresAvailable()) && (await redisAvailable())

describe('two AS processes over one PostgreSQL and one Redis', {
  skip: !backendsUp && 'PostgreSQL or Redis unreachable',
}, () => {
  let issuer: string
  let a: AsProcess
  let b: AsProcess
  let key: DpopKeyPair
  let ns: ReturnType<typeof redisNamespace>
  const cleanups: (() => Promise<unknown>)[] = []

  before(async () => {
    const db = await createDatabase()
    cleanups.push(() => db.drop())
    ns = redisNamespace()
    const redisNs = ns
    cleanups.push(() => redisNs.drop())
    const stateDir = mkdtempSync(join(tmpdir(), 'dauth-as-scale-'))
    cleanups.push(() => Promise.resolve(rmSync(stateDir, { recursive: true, force: true })))
    writeFileSync(join(stateDir, 'clients.json'), JSON.stringify(testClients()))
    writeFileSync(join(stateDir, 'resources.json'), JSON.stringify({ resources: testResources() }))
    const [portA, portB] = [await freePort(), await freePort()]
    issuer = `http://127.0.0.1:${portA}`
    const env = (port: number) => ({
      DAUTH_ISSUER: issuer,
      DAUTH_AS_PORT: String(port),
      DAUTH_STATE_DIR: stateDir,
      DAUTH_DEV: '1',
      DATABASE_URL: db.url,
      REDIS_URL,
      DAUTH_REDIS_PREFIX: ns.prefix,
    })
    // One after the other: the first creates the schema and the signing keys.
    a = await spawnAs(env(portA))
    cleanups.unshift(() => a.stop())
    b = await spawnAs(env(portB))
    cleanups.unshift(() => b.stop())
    key = await generateDpopKeyPair()
  })
  after(async () => {
    for (const cleanup of cleanups) await cleanup()
  })

  /** A token request at `base`; the DPoP proof names the issuer's endpoint (both serve it). */
  async function token(
    base: string,
    params: Record<string, string>,
    options: { client?: typeof ALICE; dpop?: string } = {},
  ) {
    const headers: Record<string, string> = {
      'content-type': 'application/x-www-form-urlencoded',
      dpop:
        options.dpop ?? (await createDpopProof(key, { htm: 'POST', htu: `${issuer}/oauth/token` })),
    }
    if (options.client) headers.authorization = basic(options.client)
    const res = await fetch(`${base}/oauth/token`, {
      method: 'POST',
      headers,
      body: new URLSearchParams(params),
    })
    return { status: res.status, body: (await res.json()) as Record<string, unknown> }
  }

  /** RFC 7662 at `base`, as the resource server of MCP_RESOURCE. */
  async function introspect(base: string, value: string, client = MCP_CLIENT) {
    const res = await fetch(`${base}/oauth/introspect`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: basic(client),
      },
      body: new URLSearchParams({ token: value }),
    })
    assert.equal(res.status, 200)
    return (await res.json()) as Record<string, unknown>
  }

  test('both serve the same issuer metadata and signing keys', async () => {
    for (const path of ['/.well-known/oauth-authorization-server', '/oauth/jwks']) {
      const [fromA, fromB] = await Promise.all(
        [a, b].map(async (p) => (await fetch(`${p.base}${path}`)).json()),
      )
      assert.deepEqual(fromB, fromA, path)
    }
  })

  test('login at B, consent at A; the code from A redeems at B, once', async () => {
    const { verifier, challenge } = pkce()
    const browser = new Browser(a.base)
    const at = (base: string, location: string) => base + location.replace(issuer, '')
    const start = await browser.request(authorizeUrl(challenge, { state: 'scale' }))
    assert.equal(start.status, 303)
    const login = await browser.request(at(b.base, start.location!))
    assert.equal(login.status, 200)
    const signedIn = await browser.request(at(b.base, `${start.location!}/login`), {
      method: 'POST',
      form: { csrf: csrfOf(login.text), username: 'demo', password: 'demo-password' },
    })
    assert.equal(signedIn.status, 303)
    const resumed = await browser.request(at(a.base, signedIn.location!))
    assert.equal(resumed.status, 303)
    const consent = await browser.request(at(a.base, resumed.location!))
    assert.equal(consent.status, 200)
    const allowed = await browser.request(at(a.base, `${resumed.location!}/confirm`), {
      method: 'POST',
      form: { csrf: csrfOf(consent.text) },
    })
    const back = new URL((await browser.request(at(a.base, allowed.location!))).location!)
    assert.equal(back.searchParams.get('iss'), issuer)
    const code = back.searchParams.get('code')!

    const redeem = {
      grant_type: 'authorization_code',
      code,
      code_verifier: verifier,
      redirect_uri: PUBLIC_REDIRECT,
      client_id: 'public-app',
    }
    const tokens = await token(b.base, redeem)
    assert.equal(tokens.status, 200, JSON.stringify(tokens.body))
    assert.deepEqual(decode(tokens.body.access_token as string).claims.cnf, { jkt: key.jkt })
    // The code is single-use across instances too.
    const again = await token(a.base, redeem)
    assert.equal(again.status, 400)
    assert.equal(again.body.error, 'invalid_grant')
  })

  test('refresh at A rotates; reuse at B revokes the family at both instances', async () => {
    // A fresh grant through instance A's forms (the redirects name the shared issuer).
    const { code, verifier } = await freshCode({ url: a.base }, issuer)
    const first = await token(a.base, {
      grant_type: 'authorization_code',
      code,
      code_verifier: verifier,
      redirect_uri: PUBLIC_REDIRECT,
      client_id: 'public-app',
    })
    assert.equal(first.status, 200, JSON.stringify(first.body))
    const refresh = (base: string, value: string) =>
      token(base, { grant_type: 'refresh_token', refresh_token: value, client_id: 'public-app' })
    const r1 = first.body.refresh_token as string
    const second = await refresh(a.base, r1)
    assert.equal(second.status, 200)
    const at2 = second.body.access_token as string
    assert.equal((await introspect(b.base, at2)).active, true)
    const reuse = await refresh(b.base, r1)
    assert.equal(reuse.status, 400)
    assert.equal(reuse.body.error, 'invalid_grant')
    for (const p of [a, b]) {
      assert.deepEqual(await introspect(p.base, at2), { active: false })
      assert.deepEqual(await introspect(p.base, first.body.access_token as string), {
        active: false,
      })
      const r2 = await refresh(p.base, second.body.refresh_token as string)
      assert.equal(r2.body.error, 'invalid_grant')
    }
  })

  test('a DPoP proof used at A is refused at B; tokens of either introspect at both', async () => {
    const params = { grant_type: 'client_credentials', resource: MCP_RESOURCE, scope: 'read' }
    const proof = await createDpopProof(key, { htm: 'POST', htu: `${issuer}/oauth/token` })
    const fromA = await token(a.base, params, { client: ALICE, dpop: proof })
    assert.equal(fromA.status, 200)
    const replayed = await token(b.base, params, { client: ALICE, dpop: proof })
    // oidc-provider answers a replayed proof at the token endpoint with invalid_grant.
    assert.deepEqual(replayed, {
      status: 400,
      body: { error: 'invalid_grant', error_description: 'grant request is invalid' },
    })
    // The shared replay state is Redis (SET NX under this test's prefix), not the database.
    const { jti } = decode(proof).claims as { jti: string }
    assert.equal(await ns.redis.exists(`${ns.prefix}replay:oidc-dpop:${ALICE.client_id}:${jti}`), 1)
    const fromB = await token(b.base, params, { client: ALICE })
    assert.equal(fromB.status, 200)
    for (const value of [fromA.body.access_token as string, fromB.body.access_token as string]) {
      const [atA, atB] = [await introspect(a.base, value), await introspect(b.base, value)]
      assert.equal(atA.active, true)
      assert.deepEqual(atB, atA)
      assert.equal(atA.client_id, ALICE.client_id)
      assert.deepEqual(atA.cnf, { jkt: key.jkt })
    }
  })
})
