// The whole DAuth credential flow, driven exactly as a user would drive it with the client
// SDK: register, verify attestation, seal, upload, get a DPoP-bound token, call a tool that
// dispatches through the enclave. `pnpm demo` prints its steps; the end-to-end tests assert
// on what it returns.
import { createHash, randomBytes } from 'node:crypto'
import {
  ClientCredentialsAuth,
  type ClientAuth,
  DAuthConnections,
  MCPClient,
  registerClient,
} from '@dauth/sdk-client'
import { loadAttestationPolicy } from '@dauth/sdk-client/node'

/** Options of {@link runDemoFlow}. */
export interface DemoFlowOptions {
  issuer: string
  mcpUrl: string
  /** `host:port` of the demo upstream the credential may be sent to. */
  upstreamHost: string
  /** `.dauth/attestation.json`: the pinned platform key and measurements. */
  attestationFile: string
  /** Called once per step with a human-readable line. */
  log?: (line: string) => void
}

/** What the flow observed, for assertions. */
export interface DemoFlowResult {
  clientId: string
  clientSecret: string
  handle: string
  connectionId: string
  /** SHA-256 (base64url) of the credential that was sealed; the upstream must report the same. */
  credentialSha256: string
  /** The `whoami` tool's answer: the upstream's JSON. */
  whoami: { login: string; host: string; via: string; credential_sha256: string }
  /** Connections auth (for further vault calls in tests). */
  vaultAuth: ClientAuth
  /** MCP auth (for further tool calls in tests). */
  mcpAuth: ClientAuth
}

/**
 * Runs the credential flow against a running stack.
 *
 * @example
 * const result = await runDemoFlow({ issuer, mcpUrl, upstreamHost: 'localhost:4300',
 *   attestationFile: '.dauth/attestation.json', log: console.log })
 */
export async function runDemoFlow(options: DemoFlowOptions): Promise<DemoFlowResult> {
  const log = options.log ?? (() => undefined)
  const { issuer, mcpUrl } = options

  const client = await registerClient(issuer, {
    client_name: 'DAuth demo',
    grant_types: ['client_credentials'],
    response_types: [],
    redirect_uris: [],
    token_endpoint_auth_method: 'client_secret_basic',
    dpop_bound_access_tokens: true,
  })
  if (client.client_secret === undefined)
    throw new Error('the AS registered the demo client without a secret')
  log(`1. registered client ${client.client_id} at ${issuer} (RFC 7591)`)

  const attestation = await loadAttestationPolicy(options.attestationFile)
  const vaultAuth = ClientCredentialsAuth({
    issuer,
    clientId: client.client_id,
    clientSecret: client.client_secret,
    resource: `${issuer}/connections`,
    scope: 'connections:read connections:write',
    dpop: true,
  })
  const connections = new DAuthConnections({ issuer, auth: vaultAuth, attestation })

  // A fresh random credential: only its hash is ever printed.
  const secret = new Uint8Array(randomBytes(32))
  const credential = Buffer.from(secret).toString('base64url')
  const credentialSha256 = createHash('sha256').update(credential).digest('base64url')
  const created = await connections.create({
    name: 'demo',
    provider: 'demo-upstream',
    secret: new TextEncoder().encode(credential),
    allowedHosts: [options.upstreamHost],
    inject: { type: 'bearer' },
  })
  secret.fill(0)
  log(`2. verified the enclave attestation (platform key pinned, measurement allowed, fresh nonce)`)
  log(
    `3. sealed a demo credential (sha256 ${credentialSha256}) and uploaded it: handle ${created.handle}`,
  )

  const mcpAuth = ClientCredentialsAuth({
    issuer,
    clientId: client.client_id,
    clientSecret: client.client_secret,
    resource: mcpUrl,
    scope: 'read api:call',
    dpop: true,
  })
  const mcp = await MCPClient.connect(mcpUrl, { auth: mcpAuth })
  try {
    log(`4. got a DPoP-bound access token for ${mcpUrl} and connected`)
    const result = await mcp.callTool('whoami', {})
    const text = result.content.find((item) => item.type === 'text')
    if (result.isError === true || text?.type !== 'text') {
      throw new Error(`whoami failed: ${JSON.stringify(result.content)}`)
    }
    const whoami = JSON.parse(text.text) as DemoFlowResult['whoami']
    log(`5. whoami dispatched through the enclave; the upstream answered: ${text.text}`)
    log(
      whoami.credential_sha256 === credentialSha256
        ? '6. the upstream received exactly the sealed credential; the MCP server never held it'
        : '6. MISMATCH: the upstream received a different credential',
    )
    return {
      clientId: client.client_id,
      clientSecret: client.client_secret,
      handle: created.handle,
      connectionId: created.connectionId,
      credentialSha256,
      whoami,
      vaultAuth,
      mcpAuth,
    }
  } finally {
    await mcp.close()
  }
}
