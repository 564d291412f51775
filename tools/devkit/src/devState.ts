// The `.dauth/` state folder of ARCHITECTURE.md §6 and docs/reference/wire.md: what must
// exist before the four processes start. Secrets are created once and reused on later
// starts; the files derived from URLs (registry, static clients) are rewritten every time
// so that a change of ports never leaves a stale registry behind.
import { randomBytes } from 'node:crypto'
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { issueDevCertificates } from './devCa.ts'

/** The URLs the state folder's registry and client files are written for. */
export interface DevStateOptions {
  stateDir: string
  issuer: string
  mcpUrl: string
  enclaveUrl: string
  /**
   * More resources for the AS registry (tests protect servers of their own with the stack's
   * AS), in the registry file's shape.
   */
  extraResources?: readonly RegistryResource[]
}

/** One resource of the AS's registry file (apps/as `DAUTH_AS_RESOURCES_FILE`). */
export interface RegistryResource {
  resource: string
  scopes: readonly string[]
  connections: readonly string[]
  accessTokenTtl: number
  dispatchClients?: readonly string[]
}

/** Paths of the files `ensureDevState` guarantees. */
export interface DevStatePaths {
  stateDir: string
  caPem: string
  upstreamCert: string
  upstreamKey: string
  clientsFile: string
  resourcesFile: string
  mcpClientFile: string
  enclaveClientKeyFile: string
  attestationFile: string
}

export const EXAMPLE_MCP_CLIENT_ID = 'dauth-example-mcp'
export const ENCLAVE_CLIENT_ID = 'dauth-enclave'
const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange'

/** Returns the paths of the state folder's files, without touching the disk. */
export function devStatePaths(stateDir: string): DevStatePaths {
  return {
    stateDir,
    caPem: join(stateDir, 'ca.pem'),
    upstreamCert: join(stateDir, 'upstream', 'cert.pem'),
    upstreamKey: join(stateDir, 'upstream', 'key.pem'),
    clientsFile: join(stateDir, 'clients.json'),
    resourcesFile: join(stateDir, 'resources.json'),
    mcpClientFile: join(stateDir, 'clients', 'example-mcp.json'),
    enclaveClientKeyFile: join(stateDir, 'clients', 'enclave.jwk.json'),
    attestationFile: join(stateDir, 'attestation.json'),
  }
}

/**
 * Creates (or completes) the dev state folder: the dev CA and the demo upstream's TLS
 * certificate, the example MCP server's client secret, the enclave's client key, and the AS's
 * static clients and resource registry for the given URLs.
 *
 * @example
 * const paths = await ensureDevState({ stateDir: '.dauth', issuer: 'http://localhost:4000',
 *   mcpUrl: 'http://localhost:4100/mcp', enclaveUrl: 'http://127.0.0.1:4200' })
 */
export async function ensureDevState(options: DevStateOptions): Promise<DevStatePaths> {
  const paths = devStatePaths(options.stateDir)
  await mkdir(join(options.stateDir, 'upstream'), { recursive: true, mode: 0o700 })
  await mkdir(join(options.stateDir, 'clients'), { recursive: true, mode: 0o700 })

  if (!(await exists(paths.caPem)) || !(await exists(paths.upstreamKey))) {
    const certs = await issueDevCertificates()
    await writeFile(paths.upstreamKey, certs.leafKeyPem, { mode: 0o600 })
    await writeFile(paths.upstreamCert, certs.leafCertPem, { mode: 0o644 })
    await writeFile(paths.caPem, certs.caCertPem, { mode: 0o644 })
  }

  const mcpClient = await readJson<{ client_id: string; client_secret: string }>(
    paths.mcpClientFile,
  )
  const mcpSecret = mcpClient?.client_secret ?? randomBytes(32).toString('base64url')
  if (!mcpClient) {
    await writeSecretJson(paths.mcpClientFile, {
      client_id: EXAMPLE_MCP_CLIENT_ID,
      client_secret: mcpSecret,
    })
  }

  let enclaveJwk = await readJson<JsonWebKey & { kid: string }>(paths.enclaveClientKeyFile)
  if (!enclaveJwk) {
    const pair = await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, [
      'sign',
    ])
    const jwk = await crypto.subtle.exportKey('jwk', pair.privateKey)
    enclaveJwk = { ...jwk, kid: randomBytes(12).toString('base64url'), alg: 'ES256', use: 'sig' }
    await writeSecretJson(paths.enclaveClientKeyFile, enclaveJwk)
  }
  const { d: _private, key_ops: _ops, ext: _ext, ...enclavePublicJwk } = enclaveJwk

  await writeSecretJson(paths.clientsFile, [
    {
      client_id: EXAMPLE_MCP_CLIENT_ID,
      client_secret: mcpSecret,
      client_name: 'DAuth example MCP server',
      token_endpoint_auth_method: 'client_secret_basic',
      grant_types: ['client_credentials', TOKEN_EXCHANGE],
      response_types: [],
      redirect_uris: [],
    },
    {
      client_id: ENCLAVE_CLIENT_ID,
      client_name: 'DAuth enclave',
      token_endpoint_auth_method: 'private_key_jwt',
      token_endpoint_auth_signing_alg: 'ES256',
      jwks: { keys: [enclavePublicJwk] },
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
    },
  ])

  await writeFile(
    paths.resourcesFile,
    `${JSON.stringify(
      {
        resources: [
          {
            resource: options.mcpUrl,
            scopes: ['read', 'api:call'],
            connections: ['demo'],
            accessTokenTtl: 300,
            dispatchClients: [EXAMPLE_MCP_CLIENT_ID],
          },
          {
            resource: `${options.issuer}/connections`,
            scopes: ['connections:read', 'connections:write'],
            connections: [],
            accessTokenTtl: 300,
          },
          ...(options.extraResources ?? []),
        ],
      },
      null,
      2,
    )}\n`,
    { mode: 0o644 },
  )
  return paths
}

async function exists(path: string): Promise<boolean> {
  try {
    await readFile(path)
    return true
  } catch {
    return false
  }
}

async function readJson<T>(path: string): Promise<T | undefined> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as T
  } catch {
    return undefined
  }
}

async function writeSecretJson(path: string, value: unknown): Promise<void> {
  await writeFile(path, `${JSON.stringify(value, null, 2)}\n`, { mode: 0o600 })
  await chmod(path, 0o600) // writeFile's mode applies only when it creates the file
}
