/**
 * Entry for `pnpm --silent conformance:client <server-url>` (ARCHITECTURE.md §6): runs the
 * MCP conformance suite scenario named by MCP_CONFORMANCE_SCENARIO with this SDK as the
 * client under test. Scenario-specific data (client credentials…) comes as JSON in
 * MCP_CONFORMANCE_CONTEXT, the wire revision in MCP_CONFORMANCE_PROTOCOL_VERSION (2026-07-28 =
 * the stateless protocol). Each scenario is mapped to the SDK calls an app would make; the SDK
 * itself knows nothing of scenarios. Exits 0 on success, 1 on failure (error code on stderr;
 * never a token).
 */
import { createPrivateKey } from 'node:crypto'
import {
  AuthorizationCodeAuth,
  ClientCredentialsAuth,
  DAuthClientError,
  JwtBearerAuth,
  MCPClient,
  requestIdJag,
  type ClientAuth,
} from '@dauth/sdk-client'
import type { Tool } from '@modelcontextprotocol/sdk/types.js'

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
    case 'auth/wif-jwt-bearer':
      // The workload's platform hands it a JWT for the AS (SEP-1933).
      return JwtBearerAuth({
        clientId: contextString(context, 'client_id'),
        assertion: contextString(context, 'valid_jwt'),
      })
    case 'auth/enterprise-managed-authorization':
      // The user signed in at the enterprise IdP; the app trades that ID token for an ID-JAG.
      return JwtBearerAuth({
        clientId: contextString(context, 'client_id'),
        clientSecret: contextString(context, 'client_secret'),
        assertion: ({ issuer, resource }) =>
          requestIdJag({
            tokenEndpoint: contextString(context, 'idp_token_endpoint'),
            idToken: contextString(context, 'idp_id_token'),
            clientId: contextString(context, 'idp_client_id'),
            audience: issuer,
            resource: resource ?? '',
          }),
      })
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

/** Arguments for a tool the suite did not give arguments for: a placeholder per required property. */
function placeholderArguments(tool: Tool): Record<string, unknown> {
  const args: Record<string, unknown> = {}
  const properties = tool.inputSchema.properties ?? {}
  for (const name of tool.inputSchema.required ?? []) {
    const type = (properties[name] as { type?: unknown } | undefined)?.type
    args[name] = type === 'number' || type === 'integer' ? 1 : type === 'boolean' ? true : 'x'
  }
  return args
}

/** The calls a real app would make to exercise each non-auth scenario's server. */
async function exercise(
  client: MCPClient,
  scenario: string,
  context: Context,
  tools: Tool[],
): Promise<void> {
  if (scenario === 'json-schema-2020-12-preservation') {
    const focal = tools.find((t) => t.name === 'json_schema_2020_12_tool')
    if (focal !== undefined)
      await client.callTool('json_schema_echo', { schema: focal.inputSchema })
    return
  }
  if (scenario === 'json-schema-ref-no-deref' || scenario === 'request-metadata') return
  const toolCalls = context.toolCalls
  if (Array.isArray(toolCalls)) {
    for (const call of toolCalls as { name: string; arguments?: Record<string, unknown> }[]) {
      await client.callTool(call.name, call.arguments ?? {})
    }
    return
  }
  for (const tool of tools) await client.callTool(tool.name, placeholderArguments(tool))
  if (scenario === 'http-standard-headers') {
    const [resource] = await client.listResources()
    if (resource !== undefined) await client.readResource(resource.uri)
    const [prompt] = await client.listPrompts()
    if (prompt !== undefined) await client.getPrompt(prompt.name)
  }
}

async function run(serverUrl: string): Promise<void> {
  const scenario = process.env.MCP_CONFORMANCE_SCENARIO ?? 'initialize'
  const protocolVersion = process.env.MCP_CONFORMANCE_PROTOCOL_VERSION
  const context = readContext()
  const auth = authFor(scenario, context)
  const client = await MCPClient.connect(serverUrl, {
    clientInfo: { name: 'dauth-sdk-client-conformance', version: '0.1.0' },
    ...(auth !== undefined ? { auth } : {}),
    ...(protocolVersion !== undefined ? { protocolVersion } : {}),
    // The user accepts every form as offered (defaults filled in by the SDK).
    elicitation: () => Promise.resolve({ action: 'accept', content: {} }),
  })
  try {
    const tools = await client.listTools()
    if (scenario.startsWith('auth/')) {
      if (
        !scenario.startsWith('auth/client-credentials') &&
        scenario !== 'auth/wif-jwt-bearer' &&
        scenario !== 'auth/enterprise-managed-authorization'
      )
        await client.callTool('test-tool', {})
    } else {
      await exercise(client, scenario, context, tools)
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
