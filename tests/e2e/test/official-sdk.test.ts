// The official MCP TypeScript SDK as the client, with nothing of ours on its side (issue #4's
// "proof against things no one here wrote"): its Client + StreamableHTTPClientTransport and
// its own OAuth machinery (RFC 9728 discovery from the 401, RFC 8414 metadata, RFC 7591
// registration, PKCE, RFC 8707 resource) against the real AS, through the AS's real login
// and consent pages in Chromium, then a scoped tool call on a server built on
// @dauth/mcp-server. The SDK speaks Bearer only, so this server is configured with
// `dpopRequired: false` — a supported option of ours, the one such clients need.
import assert from 'node:assert/strict'
import { once } from 'node:events'
import { mkdtemp, rm } from 'node:fs/promises'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { freePort, type Stack, startStack } from '@dauth/devkit'
import {
  chromiumAvailable,
  completeLoginAndConsent,
  launchTestBrowser,
} from '@dauth/devkit/browser'
import { MCPServer, tool } from '@dauth/mcp-server'
import type { OAuthClientProvider } from '@modelcontextprotocol/sdk/client/auth.js'
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import { UnauthorizedError } from '@modelcontextprotocol/sdk/client/auth.js'
import type {
  OAuthClientInformationMixed,
  OAuthClientMetadata,
  OAuthTokens,
} from '@modelcontextprotocol/sdk/shared/auth.js'
import { z } from 'zod'

/** The redirect URI: a loopback listener that just says the browser may close. */
let REDIRECT = ''

/**
 * The SDK's OAuth client provider interface, implemented the way an application would: in
 * memory, and "redirecting" by driving a browser through the AS's pages, which lands on the
 * loopback redirect URI with the code.
 */
class BrowserOAuthProvider implements OAuthClientProvider {
  #client: OAuthClientInformationMixed | undefined
  #tokens: OAuthTokens | undefined
  #verifier = ''
  /** The authorization response URL the browser landed on. */
  landedAt: URL | undefined
  authorizationUrls: URL[] = []

  get redirectUrl(): string {
    return REDIRECT
  }
  get clientMetadata(): OAuthClientMetadata {
    return {
      client_name: 'official SDK client',
      redirect_uris: [REDIRECT],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
      scope: 'read',
      // The AS binds tokens to DPoP unless a client says it cannot (secure default); the
      // official SDK sends no DPoP proofs, so its client registers as a Bearer client.
      dpop_bound_access_tokens: false,
    } as OAuthClientMetadata
  }
  clientInformation(): OAuthClientInformationMixed | undefined {
    return this.#client
  }
  saveClientInformation(info: OAuthClientInformationMixed): void {
    this.#client = info
  }
  tokens(): OAuthTokens | undefined {
    return this.#tokens
  }
  saveTokens(tokens: OAuthTokens): void {
    this.#tokens = tokens
  }
  async redirectToAuthorization(url: URL): Promise<void> {
    this.authorizationUrls.push(url)
    const browser = await launchTestBrowser()
    try {
      this.landedAt = new URL(
        await completeLoginAndConsent(browser.page, url.href, {
          username: 'demo',
          password: 'demo-password',
        }),
      )
    } finally {
      await browser.close()
    }
  }
  saveCodeVerifier(verifier: string): void {
    this.#verifier = verifier
  }
  codeVerifier(): string {
    return this.#verifier
  }
}

let stack: Stack | undefined
let stateDir: string
let server: MCPServer
let closeServer: (() => Promise<void>) | undefined
let serverUrl: string
let callback: Server | undefined

before(async () => {
  if (!chromiumAvailable()) return
  stateDir = await mkdtemp(join(tmpdir(), 'dauth-e2e-official-'))
  callback = createServer((_req, res) => res.end('You may close this window.'))
  callback.listen(0, '127.0.0.1')
  await once(callback, 'listening')
  REDIRECT = `http://127.0.0.1:${(callback.address() as AddressInfo).port}/callback`
  const port = await freePort()
  serverUrl = `http://localhost:${port}/mcp`
  stack = await startStack({
    stateDir,
    ports: { as: 0, mcp: 0, enclave: 0, upstream: 0 },
    extraResources: [
      { resource: serverUrl, scopes: ['read', 'write'], connections: [], accessTokenTtl: 300 },
    ],
  })
  server = new MCPServer('official-sdk-target', {
    resourceUrl: serverUrl,
    authorization: { authorizationServers: [stack.issuer], dpopRequired: false },
  })
  server.collect(
    tool(
      {
        name: 'shout',
        description: 'Upper-case the text.',
        requiredScopes: ['read'],
        inputSchema: { text: z.string() },
      },
      ({ text }) => text.toUpperCase(),
    ),
    tool(
      {
        name: 'erase',
        description: 'Needs a scope the client never asked for.',
        requiredScopes: ['write'],
      },
      () => 'erased',
    ),
  )
  const running = await server.serve({ port })
  closeServer = () => running.close()
})

after(async () => {
  await closeServer?.()
  await stack?.stop()
  callback?.closeAllConnections()
  callback?.close()
  if (stateDir) await rm(stateDir, { recursive: true, force: true })
})

describe('the official MCP SDK client against apps/as and @dauth/mcp-server', () => {
  test('discovers, registers, authorizes through the real pages, and calls a scoped tool', async (t) => {
    if (stack === undefined) return t.skip('no Chromium')
    const issuer = stack.issuer
    const provider = new BrowserOAuthProvider()
    const first = new StreamableHTTPClientTransport(new URL(serverUrl), { authProvider: provider })
    const client = new Client({ name: 'official-sdk-e2e', version: '1.0.0' })

    // No token yet: the SDK follows the 401 to our PRM and AS, registers, and "redirects".
    await assert.rejects(client.connect(first), UnauthorizedError)
    assert.equal(provider.authorizationUrls.length, 1)
    const authorizationUrl = provider.authorizationUrls[0]!
    assert.equal(authorizationUrl.origin + authorizationUrl.pathname, `${issuer}/oauth/authorize`)
    assert.equal(authorizationUrl.searchParams.get('resource'), serverUrl)
    assert.equal(authorizationUrl.searchParams.get('code_challenge_method'), 'S256')
    assert.equal(authorizationUrl.searchParams.get('scope'), 'read write')
    const landed = provider.landedAt
    assert.ok(landed)
    assert.equal(landed.origin + landed.pathname, REDIRECT)
    assert.equal(landed.searchParams.get('iss'), issuer)
    const code = landed.searchParams.get('code')
    assert.ok(code)

    await first.finishAuth(code)
    const tokens = provider.tokens()
    assert.ok(tokens)
    assert.equal(tokens.token_type.toLowerCase(), 'bearer')
    const [, payload] = tokens.access_token.split('.')
    const claims = JSON.parse(Buffer.from(payload!, 'base64url').toString()) as Record<
      string,
      unknown
    >
    assert.equal(claims.aud, serverUrl)
    assert.equal(claims.iss, issuer)
    // The SDK asks for the PRM's scopes_supported (every tool's scope, MCP spec order).
    assert.equal(claims.scope, 'read write')

    const second = new StreamableHTTPClientTransport(new URL(serverUrl), { authProvider: provider })
    const connected = new Client({ name: 'official-sdk-e2e', version: '1.0.0' })
    await connected.connect(second)
    try {
      const listed = await connected.listTools()
      assert.deepEqual(listed.tools.map((x) => x.name).sort(), ['erase', 'shout'])
      const result = await connected.callTool({ name: 'shout', arguments: { text: 'sealed' } })
      assert.deepEqual(result.content, [{ type: 'text', text: 'SEALED' }])
      assert.equal(result.isError, undefined)
      const erased = await connected.callTool({ name: 'erase', arguments: {} })
      assert.deepEqual(erased.content, [{ type: 'text', text: 'erased' }])
    } finally {
      await connected.close()
    }
  })
})
