// openid-client (panva), a relying party no one here wrote, against the real AS: discovery,
// DCR, authorization code + PKCE + DPoP through the real login/consent pages in Chromium,
// client credentials + DPoP, refresh rotation and reuse detection, RFC 7009 and RFC 7662.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { once } from 'node:events'
import * as oidc from 'openid-client'
import { calculateJwkThumbprint, exportJWK } from 'jose'
import {
  ALICE,
  BOB,
  MCP_CLIENT,
  MCP_RESOURCE,
  decode,
  startTestServer,
  type TestServer,
} from './helpers.ts'
import {
  chromiumAvailable,
  completeLoginAndConsent,
  launchTestBrowser,
} from '@dauth/devkit/browser'

const insecure = { execute: [oidc.allowInsecureRequests] }
const DEMO = { username: 'demo', password: 'demo-password' }

async function thumbprint(pair: CryptoKeyPair): Promise<string> {
  return calculateJwkThumbprint(await exportJWK(pair.publicKey))
}

/** The openid-client error of a refused call (ResponseBodyError carries `error`). */
async function refused(promise: Promise<unknown>): Promise<{ error: string; status: number }> {
  const error = await promise.then(
    () => assert.fail('expected the AS to refuse'),
    (e: unknown) => e,
  )
  assert.ok(error instanceof oidc.ResponseBodyError, String(error))
  return { error: error.error, status: error.status }
}

describe('openid-client as the relying party', () => {
  let server: TestServer
  let callback: Server
  let redirectUri: string
  /** Confidential static clients; MCP_CLIENT is the resource server of MCP_RESOURCE. */
  let alice: oidc.Configuration
  let bob: oidc.Configuration
  let resourceServer: oidc.Configuration

  before(async () => {
    server = await startTestServer({ dev: true })
    callback = createServer((_req, res) =>
      res.writeHead(200, { 'content-type': 'text/plain' }).end('callback'),
    )
    callback.listen(0, '127.0.0.1')
    await once(callback, 'listening')
    redirectUri = `http://127.0.0.1:${(callback.address() as AddressInfo).port}/callback`
    alice = await oidc.discovery(
      new URL(server.url),
      ALICE.client_id,
      undefined,
      oidc.ClientSecretBasic(ALICE.client_secret),
      { ...insecure, algorithm: 'oauth2' },
    )
    const confidential = (c: { client_id: string; client_secret: string }) =>
      new oidc.Configuration(
        alice.serverMetadata(),
        c.client_id,
        undefined,
        oidc.ClientSecretBasic(c.client_secret),
      )
    bob = confidential(BOB)
    resourceServer = confidential(MCP_CLIENT)
    oidc.allowInsecureRequests(bob)
    oidc.allowInsecureRequests(resourceServer)
  })
  after(async () => {
    callback.close()
    await server.close()
  })

  const introspect = async (token: string, as: oidc.Configuration = resourceServer) =>
    (await oidc.tokenIntrospection(as, token)) as Record<string, unknown>

  test('discovery: RFC 8414 and OIDC documents agree and name the /oauth endpoints', async () => {
    const viaOidc = await oidc.discovery(new URL(server.url), 'x', undefined, oidc.None(), insecure)
    const a = alice.serverMetadata()
    const b = viaOidc.serverMetadata()
    assert.equal(a.issuer, server.url)
    assert.equal(b.issuer, server.url)
    for (const m of [a, b]) {
      assert.equal(m.token_endpoint, `${server.url}/oauth/token`)
      assert.equal(m.registration_endpoint, `${server.url}/oauth/register`)
      assert.equal(m.introspection_endpoint, `${server.url}/oauth/introspect`)
      assert.equal(m.revocation_endpoint, `${server.url}/oauth/revoke`)
      assert.equal(m.authorization_response_iss_parameter_supported, true)
      assert.deepEqual(m.code_challenge_methods_supported, ['S256'])
      assert.deepEqual(m.dpop_signing_alg_values_supported, ['ES256', 'EdDSA'])
    }
  })

  test('client credentials + DPoP: a DPoP-bound JWT that introspects as active for its key', async () => {
    const key = await oidc.randomDPoPKeyPair('ES256')
    const tokens = await oidc.clientCredentialsGrant(
      alice,
      { resource: MCP_RESOURCE, scope: 'read' },
      { DPoP: oidc.getDPoPHandle(alice, key) },
    )
    assert.equal(tokens.token_type, 'dpop')
    assert.equal(tokens.refresh_token, undefined)
    const jkt = await thumbprint(key)
    const { header, claims } = decode(tokens.access_token)
    assert.equal(header.typ, 'at+jwt')
    assert.equal(claims.aud, MCP_RESOURCE)
    assert.equal(claims.sub, ALICE.client_id)
    assert.deepEqual(claims.cnf, { jkt })
    const info = await introspect(tokens.access_token, alice)
    // The resource server (MCP_RESOURCE's dispatch client) sees it too; another client not.
    assert.deepEqual(await introspect(tokens.access_token), info)
    assert.deepEqual(await introspect(tokens.access_token, bob), { active: false })
    assert.deepEqual(
      { ...info, exp: undefined, iat: undefined },
      {
        active: true,
        iss: server.url,
        sub: ALICE.client_id,
        aud: MCP_RESOURCE,
        client_id: ALICE.client_id,
        scope: 'read',
        jti: claims.jti,
        token_type: 'DPoP',
        cnf: { jkt },
        exp: undefined,
        iat: undefined,
      },
    )
    assert.equal(info.exp, claims.exp)
    // A token the AS did not sign is inactive, not an error.
    const [h, p] = tokens.access_token.split('.')
    assert.deepEqual(await introspect(`${h}.${p}.${'A'.repeat(86)}`), { active: false })
    assert.deepEqual(await introspect('not-a-token'), { active: false })
  })

  test('DCR, then code + PKCE + DPoP through the real pages; refresh rotates; reuse revokes the family', async (t) => {
    if (!chromiumAvailable()) return t.skip('no Chromium')
    const registered = await oidc.dynamicClientRegistration(
      new URL(server.url),
      {
        client_name: 'openid-client RP',
        redirect_uris: [redirectUri],
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        token_endpoint_auth_method: 'none',
      },
      oidc.None(),
      insecure,
    )
    const meta = registered.clientMetadata()
    assert.equal(meta.dpop_bound_access_tokens, true, 'DPoP-bound by default')
    assert.equal(meta.token_endpoint_auth_method, 'none')

    const key = await oidc.randomDPoPKeyPair('ES256')
    const dpop = oidc.getDPoPHandle(registered, key)
    const jkt = await thumbprint(key)
    const verifier = oidc.randomPKCECodeVerifier()
    const state = oidc.randomState()
    const url = oidc.buildAuthorizationUrl(registered, {
      redirect_uri: redirectUri,
      scope: 'read',
      resource: MCP_RESOURCE,
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state,
      dpop_jkt: jkt,
    })
    const browser = await launchTestBrowser()
    t.after(() => browser.close())
    const back = await completeLoginAndConsent(browser.page, url.href, DEMO)
    // openid-client checks state and the RFC 9207 iss of the response itself.
    const first = await oidc.authorizationCodeGrant(
      registered,
      new URL(back),
      { pkceCodeVerifier: verifier, expectedState: state },
      { resource: MCP_RESOURCE },
      { DPoP: dpop },
    )
    assert.equal(first.token_type, 'dpop')
    assert.deepEqual(decode(first.access_token).claims.cnf, { jkt })
    assert.equal(decode(first.access_token).claims.sub, 'acct_demo')
    const r1 = first.refresh_token!
    assert.equal(typeof r1, 'string')
    assert.equal((await introspect(first.access_token)).active, true)

    // The refresh token is DPoP-bound (public client): another key is refused.
    const otherKey = oidc.getDPoPHandle(registered, await oidc.randomDPoPKeyPair('ES256'))
    const wrongKey = await refused(
      oidc.refreshTokenGrant(registered, r1, { resource: MCP_RESOURCE }, { DPoP: otherKey }),
    )
    assert.deepEqual(wrongKey, { error: 'invalid_grant', status: 400 })

    const second = await oidc.refreshTokenGrant(
      registered,
      r1,
      { resource: MCP_RESOURCE },
      { DPoP: dpop },
    )
    const r2 = second.refresh_token!
    assert.notEqual(r2, r1, 'public clients get a rotated refresh token')
    assert.equal((await introspect(second.access_token)).active, true)
    // Refresh tokens: only their own client may introspect them, not the resource server.
    assert.equal((await introspect(r2, registered)).active, true)
    assert.deepEqual(await introspect(r2), { active: false })
    assert.deepEqual(await introspect(r1, registered), { active: false }, 'rotated out')

    // Reuse of the rotated-out token: refused, and the whole family is revoked.
    const reuse = await refused(
      oidc.refreshTokenGrant(registered, r1, { resource: MCP_RESOURCE }, { DPoP: dpop }),
    )
    assert.deepEqual(reuse, { error: 'invalid_grant', status: 400 })
    assert.deepEqual(await introspect(r2, registered), { active: false })
    for (const token of [second.access_token, first.access_token]) {
      assert.deepEqual(await introspect(token), { active: false })
    }
    const afterReuse = await refused(
      oidc.refreshTokenGrant(registered, r2, { resource: MCP_RESOURCE }, { DPoP: dpop }),
    )
    assert.deepEqual(afterReuse, { error: 'invalid_grant', status: 400 })
  })

  test('PAR via openid-client; RFC 7009 revocation of the refresh token ends the grant', async (t) => {
    if (!chromiumAvailable()) return t.skip('no Chromium')
    const registered = await oidc.dynamicClientRegistration(
      new URL(server.url),
      {
        redirect_uris: [redirectUri],
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        token_endpoint_auth_method: 'none',
      },
      oidc.None(),
      insecure,
    )
    const key = await oidc.randomDPoPKeyPair('ES256')
    const dpop = oidc.getDPoPHandle(registered, key)
    const verifier = oidc.randomPKCECodeVerifier()
    const url = await oidc.buildAuthorizationUrlWithPAR(
      registered,
      {
        redirect_uri: redirectUri,
        scope: 'read',
        resource: MCP_RESOURCE,
        code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
        code_challenge_method: 'S256',
      },
      { DPoP: dpop },
    )
    assert.ok(url.searchParams.get('request_uri')?.startsWith('urn:ietf:params:oauth:request_uri:'))
    const browser = await launchTestBrowser()
    t.after(() => browser.close())
    const back = await completeLoginAndConsent(browser.page, url.href, DEMO)
    const tokens = await oidc.authorizationCodeGrant(
      registered,
      new URL(back),
      { pkceCodeVerifier: verifier, idTokenExpected: false },
      { resource: MCP_RESOURCE },
      { DPoP: dpop },
    )
    const refresh = tokens.refresh_token!
    assert.equal((await introspect(refresh, registered)).active, true)
    assert.equal((await introspect(tokens.access_token)).active, true)

    // JWT access tokens are self-contained at resource servers: RFC 7009 §2.2.1's
    // unsupported_token_type, never a silent success that protects nothing.
    const jwtRevoke = await refused(oidc.tokenRevocation(registered, tokens.access_token))
    assert.deepEqual(jwtRevoke, { error: 'unsupported_token_type', status: 400 })

    // Another client cannot revoke it (silent 200, no oracle): still active afterwards.
    await oidc.tokenRevocation(bob, refresh)
    assert.equal((await introspect(refresh, registered)).active, true)
    await oidc.tokenRevocation(registered, refresh)
    assert.deepEqual(await introspect(refresh, registered), { active: false })
    assert.deepEqual(await introspect(tokens.access_token), { active: false })
    const refreshed = await refused(
      oidc.refreshTokenGrant(registered, refresh, { resource: MCP_RESOURCE }, { DPoP: dpop }),
    )
    assert.deepEqual(refreshed, { error: 'invalid_grant', status: 400 })
    // Revoking an unknown token is a 200 (RFC 7009 §2.2), not an oracle.
    await oidc.tokenRevocation(registered, 'unknown-token-value')
  })
})
