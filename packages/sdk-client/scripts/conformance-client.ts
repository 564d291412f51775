/**
 * Entry for `pnpm --silent conformance:client <server-url>` (ARCHITECTURE.md §6): runs the
 * MCP conformance suite scenario named by MCP_CONFORMANCE_SCENARIO with this SDK as the
 * client under test. Scenario-specific data (client credentials…) comes as JSON in
 * MCP_CONFORMANCE_CONTEXT. Exits 0 on success, 1 on failure (error code on stderr; never a token).
 */
import { createPrivateKey } from 'node:crypto'
import {
  AuthorizationCodeAuth,
  ClientCredentialsAuth,
  DAuthClientError,
  MCPClient,
  type ClientAuth,
} from '@dauth/sdk-client'

/** Client ID Metadata Document URL the suite recognises for its CIMD scenarios. */
const CIMD_CLIENT_METADATA_URL = 'https://conformance-test.local/client-metadata.json'
const REDIRECT_URI = 'http://localhost:3000/callback'

type Context = Record<string, unknown> & { name?: string }

function readContext(): Context {
  const raw = process.env.MCP_CONFORMANCE_CONTEXT
  if (raw === undefined || raw === '') return {}
  return JSON.parse(raw) as Context
}

function contextString(context: Context, key: string): string {
  const value = context[key]
  if (typeof value !== 'string') throw new Error(`MCP_CONFORMANCE_CONTEXT lacks ${key}`)
  return value
}

/** Headless user agent: the suite's AS approves at once and redirects with the code. */
async function followAuthorization(url: URL): Promise<string> {
  const response = await fetch(url, { redirect: 'manual' })
  await response.body?.cancel()
  const location = response.headers.get('location')
  if (location === null)
    throw new Error(`The authorization endpoint did not redirect (HTTP ${response.status})`)
  return location
}

function authorizationCode(
  options: { clientId?: string; clientSecret?: string; dpop?: boolean } = {},
): ClientAuth {
  return AuthorizationCodeAuth({
    redirectUri: REDIRECT_URI,
    clientMetadataUrl: CIMD_CLIENT_METADATA_URL,
    clientMetadata: { client_name: 'dauth-sdk-client conformance' },
    openBrowser: followAuthorization,
    ...(options.clientId !== undefined ? { clientId: options.clientId } : {}),
    ...(options.clientSecret !== undefined ? { clientSecret: options.clientSecret } : {}),
    ...(options.dpop === true ? { dpop: true as const } : {}),
  })
}

function authFor(scenario: string, context: Context): ClientAuth | undefined {
  switch (scenario) {
    case 'auth/client-credentials-basic':
      return ClientCredentialsAuth({
        clientId: contextString(context, 'client_id'),
        clientSecret: contextString(context, 'client_secret'),
      })
    case 'auth/client-credentials-jwt': {
      const privateKeyJwk = createPrivateKey(contextString(context, 'private_key_pem')).export({
        format: 'jwk',
      })
      return ClientCredentialsAuth({ clientId: contextString(context, 'client_id'), privateKeyJwk })
    }
    case 'auth/pre-registration':
      return authorizationCode({
        clientId: contextString(context, 'client_id'),
        clientSecret: contextString(context, 'client_secret'),
      })
    case 'auth/dpop':
    case 'auth/dpop-nonce':
      return authorizationCode({ dpop: true })
    default:
      // Every other auth scenario: the authorization code flow with discovery; the rest
      // of the suite's client scenarios need no auth.
      return scenario.startsWith('auth/') ? authorizationCode() : undefined
  }
}

async function run(serverUrl: string): Promise<void> {
  const scenario = process.env.MCP_CONFORMANCE_SCENARIO ?? 'initialize'
  const auth = authFor(scenario, readContext())
  const client = await MCPClient.connect(serverUrl, {
    clientInfo: { name: 'dauth-sdk-client-conformance', version: '0.1.0' },
    ...(auth !== undefined ? { auth } : {}),
  })
  try {
    const tools = await client.listTools()
    if (scenario.startsWith('auth/')) {
      if (!scenario.startsWith('auth/client-credentials')) await client.callTool('test-tool', {})
    } else if (['initialize', 'tools_call', 'tools-call'].includes(scenario)) {
      const tool = tools[0]
      if (tool !== undefined) await client.callTool(tool.name, { a: 2, b: 3 })
    }
  } finally {
    await client.close()
  }
}

const serverUrl = process.argv.at(-1)
if (serverUrl === undefined || !/^https?:\/\//.test(serverUrl)) {
  process.stderr.write('usage: conformance-client <server-url>\n')
  process.exit(2)
}
run(serverUrl).then(
  () => process.exit(0),
  (error: unknown) => {
    const code = error instanceof DAuthClientError ? error.code : 'ERR_UNEXPECTED'
    process.stderr.write(`${code}: ${error instanceof Error ? error.message : 'unknown error'}\n`)
    process.exit(1)
  },
)
