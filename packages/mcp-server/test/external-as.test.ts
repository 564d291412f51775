// External authorization servers (README "External authorization servers"): local stand-ins
// shaped like Auth0, Okta and Keycloak — their issuer forms, discovery and JWKS paths, token
// headers and scope claims — each driven through the documented JWTValidator configuration,
// then through a real MCPServer with the official SDK client.
import assert from 'node:assert/strict'
import { generateKeyPairSync, randomUUID } from 'node:crypto'
import { createServer, type Server } from 'node:http'
import { after, before, describe, test } from 'node:test'
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import { exportJWK, SignJWT } from 'jose'
import { JWTValidator, type JWTValidatorOptions, MCPServer, tool } from '../src/index.ts'
import { close, listen, nowSeconds } from './helpers.ts'

const API = 'https://api.example.test/mcp'

interface Provider {
  name: string
  /** Issuer path on the stand-in's origin ('' or '/' or '/oauth2/default'…). */
  issuerPath: string
  /** Where the provider serves OIDC discovery and its JWKS (paths on the origin). */
  discoveryPath: string
  jwksPath: string
  /** `typ` of its access tokens' JWS header; undefined = none. */
  typ: string | undefined
  /** An access token's claims for API with the scopes `read` and `files:delete`. */
  accessClaims(issuer: string): Record<string, unknown>
  /** The documented validator options besides issuer (and fetch). */
  options: Omit<JWTValidatorOptions, 'issuer'>
}

const PROVIDERS: Provider[] = [
  {
    // Auth0: issuer with a trailing slash, RS256, `aud` an array (API + userinfo) when
    // openid was asked, scopes in `scope` and RBAC permissions in `permissions`.
    name: 'Auth0',
    issuerPath: '/',
    discoveryPath: '/.well-known/openid-configuration',
    jwksPath: '/.well-known/jwks.json',
    typ: 'at+jwt',
    accessClaims: (issuer) => ({
      iss: issuer,
      sub: 'auth0|65f0c0ffee',
      aud: [API, `${issuer}userinfo`],
      azp: 'spa-client-id',
      scope: 'openid read',
      permissions: ['files:delete'],
    }),
    options: { audience: API, scopeClaims: ['scope', 'permissions'] },
  },
  {
    // Okta custom authorization server: issuer with a path, no `typ` in the header, scopes
    // as the `scp` array, `cid` for the client.
    name: 'Okta',
    issuerPath: '/oauth2/default',
    discoveryPath: '/oauth2/default/.well-known/openid-configuration',
    jwksPath: '/oauth2/default/v1/keys',
    typ: undefined,
    accessClaims: (issuer) => ({
      ver: 1,
      jti: `AT.${randomUUID()}`,
      iss: issuer,
      aud: API,
      cid: '0oa1b2c3d4',
      uid: '00u1b2c3d4',
      scp: ['read', 'files:delete'],
      sub: 'alice@example.com',
    }),
    options: { audience: API, types: null },
  },
  {
    // Keycloak: issuer /realms/<realm>, header typ JWT, `aud` an array (audience mapper +
    // account), scopes in the space-separated `scope`.
    name: 'Keycloak',
    issuerPath: '/realms/demo',
    discoveryPath: '/realms/demo/.well-known/openid-configuration',
    jwksPath: '/realms/demo/protocol/openid-connect/certs',
    typ: 'JWT',
    accessClaims: (issuer) => ({
      iss: issuer,
      sub: 'f3c1a4e2-1111-2222-3333-444455556666',
      aud: [API, 'account'],
      typ: 'Bearer',
      azp: 'mcp-client',
      scope: 'openid profile read files:delete',
    }),
    options: { audience: API, types: ['jwt'] },
  },
]

interface StandIn {
  issuer: string
  sign(claims: Record<string, unknown>, typ?: string): Promise<string>
  close(): Promise<void>
}

/** Serves only the provider's own discovery and JWKS paths (anything else 404s). */
async function freePort(): Promise<number> {
  const probe = createServer()
  const port = await listen(probe)
  await close(probe)
  return port
}

async function startStandIn(provider: Provider): Promise<StandIn> {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 })
  const kid = `${provider.name.toLowerCase()}-key-1`
  const jwk = { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' }
  let origin = ''
  const server: Server = createServer((req, res) => {
    const issuer = `${origin}${provider.issuerPath}`
    const send = (body: unknown): void => {
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end(JSON.stringify(body))
    }
    if (req.url === provider.discoveryPath) {
      send({ issuer, jwks_uri: `${origin}${provider.jwksPath}` })
    } else if (req.url === provider.jwksPath) {
      send({ keys: [jwk] })
    } else {
      res.writeHead(404).end()
    }
  })
  origin = `http://127.0.0.1:${await listen(server)}`
  const issuer = `${origin}${provider.issuerPath}`
  const sign = (claims: Record<string, unknown>, typ = provider.typ): Promise<string> =>
    new SignJWT({ iat: nowSeconds(), exp: nowSeconds() + 300, ...claims })
      .setProtectedHeader({ alg: 'RS256', kid, ...(typ !== undefined ? { typ } : {}) })
      .sign(privateKey)
  return { issuer, sign, close: () => close(server) }
}

for (const provider of PROVIDERS) {
  describe(`${provider.name}-shaped authorization server`, () => {
    let standIn: StandIn
    let validator: JWTValidator
    before(async () => {
      standIn = await startStandIn(provider)
      // JWKS discovered from the issuer (RFC 8414 first, then OIDC discovery), as documented.
      validator = new JWTValidator({ issuer: standIn.issuer, ...provider.options })
    })
    after(() => standIn.close())

    test('its access token validates, with its scopes normalized into `scope`', async () => {
      const token = await standIn.sign(provider.accessClaims(standIn.issuer))
      const result = await validator.verifyAccessToken(token)
      assert.equal(result.ok, true, JSON.stringify(result))
      if (!result.ok) return
      assert.equal(result.claims.iss, standIn.issuer)
      assert.deepEqual(result.claims.scope?.split(' ').sort(), [
        'files:delete',
        ...(provider.name === 'Okta' ? [] : ['openid']),
        ...(provider.name === 'Keycloak' ? ['profile'] : []),
        'read',
      ])
    })

    test('an ID token of the same issuer (aud = the client id) is refused', async () => {
      const token = await standIn.sign(
        { iss: standIn.issuer, sub: 'someone', aud: 'spa-client-id', nonce: 'n' },
        'JWT',
      )
      const result = await validator.verifyAccessToken(token)
      assert.deepEqual(result, {
        ok: false,
        // Auth0's access tokens are typed at+jwt, so its ID token fails there first.
        reason: provider.name === 'Auth0' ? 'typ' : 'aud',
      })
    })

    test('a token naming another issuer is refused before any key lookup', async () => {
      const claims = { ...provider.accessClaims(standIn.issuer), iss: `${standIn.issuer}x` }
      assert.deepEqual(await validator.verifyAccessToken(await standIn.sign(claims)), {
        ok: false,
        reason: 'iss',
      })
    })

    test('a scope claim of the wrong type is refused, not guessed', async () => {
      const name = provider.options.scopeClaims?.[1] ?? (provider.name === 'Okta' ? 'scp' : 'scope')
      const claims = { ...provider.accessClaims(standIn.issuer), [name]: { read: true } }
      assert.deepEqual(await validator.verifyAccessToken(await standIn.sign(claims)), {
        ok: false,
        reason: 'claims',
      })
    })

    test('an MCPServer behind it answers the official SDK client, per-tool scopes included', async () => {
      const port = await freePort()
      const resource = `http://localhost:${port}/mcp`
      const server = new MCPServer('external-as', {
        resourceUrl: resource,
        authorization: { authorizationServers: [standIn.issuer], dpopRequired: false },
      })
      server.setAuthorizationProvider(
        new JWTValidator({ issuer: standIn.issuer, ...provider.options, audience: resource }),
      )
      server.collect(
        tool({ name: 'list_files', description: 'List.', requiredScopes: ['read'] }, () => 'a b'),
        tool(
          { name: 'delete_file', description: 'Delete.', requiredScopes: ['files:delete'] },
          () => 'deleted',
        ),
        tool({ name: 'admin', description: 'Admin.', requiredScopes: ['admin'] }, () => 'no'),
      )
      const running = await server.serve({ port })
      // The provider's own audience shape (string or array), with this server's URL in it.
      const claims = provider.accessClaims(standIn.issuer)
      claims.aud = Array.isArray(claims.aud) ? [resource, ...claims.aud.slice(1)] : resource
      const token = await standIn.sign(claims)
      const client = new Client({ name: 'external-as-test', version: '1.0.0' })
      try {
        await client.connect(
          new StreamableHTTPClientTransport(new URL(resource), {
            requestInit: { headers: { authorization: `Bearer ${token}` } },
          }),
        )
        assert.deepEqual(
          (await client.listTools()).tools.map((t) => t.name),
          ['list_files', 'delete_file'],
        )
        const deleted = await client.callTool({ name: 'delete_file', arguments: {} })
        assert.deepEqual(deleted, { content: [{ type: 'text', text: 'deleted' }] })
        const refused = await client.callTool({ name: 'admin', arguments: {} })
        assert.deepEqual(refused, {
          content: [
            { type: 'text', text: `Tool "admin" requires scopes: ['admin']. Missing: ['admin']` },
          ],
          isError: true,
        })
      } finally {
        await client.close()
        await running.close()
      }
    })
  })
}

test('types: null without an audience is refused at construction', () => {
  assert.throws(
    () => new JWTValidator({ issuer: 'https://id.example', audience: null, types: null }),
    /types: null needs an audience/,
  )
})
