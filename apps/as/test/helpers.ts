import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generateKeyPairSync } from 'node:crypto'
import { createDpopProof, generateDpopKeyPair, type DpopKeyPair } from '@dauth/protocol'
import { decodeJwt, decodeProtectedHeader, exportJWK, SignJWT, type JWK } from 'jose'
import type { ClientMetadata } from 'oidc-provider'
import {
  startAuthorizationServer,
  type AuthorizationServerConfig,
  type ResourceDefinition,
} from '../src/index.ts'

export const MCP_RESOURCE = 'http://localhost:4100/mcp'
export const ENCLAVE_URL = 'http://127.0.0.1:4200'
export const PUBLIC_REDIRECT = 'http://127.0.0.1:8765/callback'

export const MCP_CLIENT = {
  client_id: 'dauth-example-mcp',
  client_secret: 'mcp-secret-0123456789abcdef0123456789',
}
export const OTHER_MCP_CLIENT = {
  client_id: 'other-mcp',
  client_secret: 'other-secret-0123456789abcdef01234567',
}
export const ALICE = {
  client_id: 'alice-app',
  client_secret: 'alice-secret-0123456789abcdef012345678',
}
export const BOB = {
  client_id: 'bob-app',
  client_secret: 'bob-secret-0123456789abcdef0123456789ab',
}

const enclaveKey = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey
export const ENCLAVE_PRIVATE_JWK = {
  ...(await exportJWK(enclaveKey)),
  kid: 'enclave-key-1',
  alg: 'ES256',
} as JWK

export function testClients(): ClientMetadata[] {
  const confidential = (
    c: { client_id: string; client_secret: string },
    exchange = false,
  ): ClientMetadata => ({
    ...c,
    token_endpoint_auth_method: 'client_secret_basic',
    grant_types: exchange
      ? ['client_credentials', 'urn:ietf:params:oauth:grant-type:token-exchange']
      : ['client_credentials'],
    response_types: [],
    redirect_uris: [],
  })
  const { d: _d, ...publicJwk } = ENCLAVE_PRIVATE_JWK
  return [
    confidential(MCP_CLIENT, true),
    confidential(OTHER_MCP_CLIENT, true),
    confidential(ALICE),
    confidential(BOB),
    {
      client_id: 'public-app',
      client_name: 'Public <App>',
      token_endpoint_auth_method: 'none',
      redirect_uris: [PUBLIC_REDIRECT],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
    },
    {
      client_id: 'dauth-enclave',
      token_endpoint_auth_method: 'private_key_jwt',
      token_endpoint_auth_signing_alg: 'ES256',
      jwks: { keys: [publicJwk] },
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
    },
  ]
}

export function testResources(): ResourceDefinition[] {
  return [
    {
      resource: MCP_RESOURCE,
      scopes: ['read', 'api:call'],
      connections: ['demo'],
      accessTokenTtl: 300,
      dispatchClients: [MCP_CLIENT.client_id],
    },
  ]
}

export interface TestServer {
  url: string
  tokenEndpoint: string
  stateDir: string
  port: number
  reloadSigningKeys(): Promise<string>
  close(): Promise<void>
}

export async function startTestServer(
  overrides: Partial<AuthorizationServerConfig> = {},
): Promise<TestServer> {
  const stateDir = overrides.stateDir ?? mkdtempSync(join(tmpdir(), 'dauth-as-'))
  const server = await startAuthorizationServer({
    port: 0,
    host: '127.0.0.1',
    stateDir,
    enclaveUrl: ENCLAVE_URL,
    clients: testClients(),
    resources: testResources(),
    logger: false,
    ...overrides,
  })
  return {
    url: server.url,
    tokenEndpoint: `${server.url}/oauth/token`,
    stateDir,
    port: server.port,
    reloadSigningKeys: () => server.reloadSigningKeys(),
    close: async () => {
      await server.close()
      if (!overrides.stateDir) rmSync(stateDir, { recursive: true, force: true })
    },
  }
}

export function basic(client: { client_id: string; client_secret: string }): string {
  return `Basic ${Buffer.from(`${encodeURIComponent(client.client_id)}:${encodeURIComponent(client.client_secret)}`).toString('base64')}`
}

export interface TokenResponse {
  status: number
  body: Record<string, unknown>
  headers: Headers
}

export async function tokenRequest(
  server: TestServer,
  params: Record<string, string>,
  options: {
    client?: { client_id: string; client_secret: string }
    dpop?: string
    headers?: Record<string, string>
  } = {},
): Promise<TokenResponse> {
  const headers: Record<string, string> = {
    'content-type': 'application/x-www-form-urlencoded',
    ...options.headers,
  }
  if (options.client) headers.authorization = basic(options.client)
  if (options.dpop) headers.dpop = options.dpop
  const response = await fetch(server.tokenEndpoint, {
    method: 'POST',
    headers,
    body: new URLSearchParams(params),
  })
  return {
    status: response.status,
    body: (await response.json()) as Record<string, unknown>,
    headers: response.headers,
  }
}

export async function clientCredentialsToken(
  server: TestServer,
  client: { client_id: string; client_secret: string },
  key: DpopKeyPair,
  resource: string,
  scope: string,
): Promise<string> {
  const proof = await createDpopProof(key, { htm: 'POST', htu: server.tokenEndpoint })
  const res = await tokenRequest(
    server,
    { grant_type: 'client_credentials', resource, scope },
    { client, dpop: proof },
  )
  if (res.status !== 200)
    throw new Error(`token request failed: ${res.status} ${JSON.stringify(res.body)}`)
  return res.body.access_token as string
}

export async function enclaveToken(server: TestServer, key: DpopKeyPair): Promise<string> {
  const privateKey = await import('jose').then((j) => j.importJWK(ENCLAVE_PRIVATE_JWK, 'ES256'))
  const assertion = await new SignJWT({})
    .setProtectedHeader({ alg: 'ES256', kid: 'enclave-key-1' })
    .setIssuer('dauth-enclave')
    .setSubject('dauth-enclave')
    .setAudience(server.url)
    .setIssuedAt()
    .setExpirationTime('60s')
    .setJti(crypto.randomUUID())
    .sign(privateKey)
  const proof = await createDpopProof(key, { htm: 'POST', htu: server.tokenEndpoint })
  const res = await tokenRequest(
    server,
    {
      grant_type: 'client_credentials',
      resource: `${server.url}/enclave`,
      scope: 'envelopes:read',
      client_id: 'dauth-enclave',
      client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
      client_assertion: assertion,
    },
    { dpop: proof },
  )
  if (res.status !== 200)
    throw new Error(`enclave token failed: ${res.status} ${JSON.stringify(res.body)}`)
  return res.body.access_token as string
}

export interface ApiResponse {
  status: number
  body: unknown
  headers: Headers
}

/** A DPoP-authenticated request to a vault route. */
export async function dpopRequest(
  url: string,
  method: string,
  token: string,
  key: DpopKeyPair,
  body?: unknown,
  proofOverride?: string,
): Promise<ApiResponse> {
  const proof =
    proofOverride ?? (await createDpopProof(key, { htm: method, htu: url, accessToken: token }))
  const headers: Record<string, string> = { authorization: `DPoP ${token}`, dpop: proof }
  if (body !== undefined) headers['content-type'] = 'application/json'
  const init: RequestInit = { method, headers }
  if (body !== undefined) init.body = JSON.stringify(body)
  const response = await fetch(url, init)
  const text = await response.text()
  return {
    status: response.status,
    body: text ? (JSON.parse(text) as unknown) : undefined,
    headers: response.headers,
  }
}

export function decode(token: string): {
  header: Record<string, unknown>
  claims: Record<string, unknown>
} {
  return { header: decodeProtectedHeader(token), claims: decodeJwt(token) }
}

export { generateDpopKeyPair, createDpopProof }

/** Creates and activates a connection owned by `client` through the vault API; returns its ids. */
export async function createActiveConnection(
  server: TestServer,
  client: { client_id: string; client_secret: string },
  key: DpopKeyPair,
  name = 'demo',
): Promise<{ connectionId: string; handle: string; uploadNonce: string; token: string }> {
  const token = await clientCredentialsToken(
    server,
    client,
    key,
    `${server.url}/connections`,
    'connections:read connections:write',
  )
  const created = await dpopRequest(`${server.url}/connections`, 'POST', token, key, {
    name,
    provider: 'demo',
  })
  if (created.status !== 201)
    throw new Error(`create failed: ${created.status} ${JSON.stringify(created.body)}`)
  const { connection_id: connectionId, upload_nonce: uploadNonce } = created.body as Record<
    string,
    string
  >
  const uploaded = await dpopRequest(
    `${server.url}/connections/${connectionId}/credential`,
    'PUT',
    token,
    key,
    {
      envelope: testEnvelope(),
    },
  )
  if (uploaded.status !== 200)
    throw new Error(`upload failed: ${uploaded.status} ${JSON.stringify(uploaded.body)}`)
  return {
    connectionId: connectionId!,
    uploadNonce: uploadNonce!,
    handle: (uploaded.body as { handle: string }).handle,
    token,
  }
}

/** An envelope-shaped value (the AS stores ciphertext only and never opens it). */
export function testEnvelope(): { v: 1; kid: string; alg: string; ct: string } {
  const ct = Buffer.alloc(120, 7).toString('base64url')
  return { v: 1, kid: 'box-key-1', alg: 'x25519-xsalsa20poly1305-sealedbox', ct }
}
