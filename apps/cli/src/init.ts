/**
 * `dauth init`: the state folder a deployment needs before its first start (wire.md "State
 * folder"), without anything of development (no dev CA, no demo upstream certificate): the
 * enclave's AS client key, the example MCP server's client secret, the AS's static clients
 * and resource registry. A file that exists is kept as it is, so running it again is safe and
 * never replaces a secret that services already use.
 *
 * @module
 */
import { randomBytes } from 'node:crypto'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { parseClients, parseResources } from '@dauth/as'

export const EXAMPLE_MCP_CLIENT_ID = 'dauth-example-mcp'
export const ENCLAVE_CLIENT_ID = 'dauth-enclave'
const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange'

export interface InitOptions {
  stateDir: string
  issuer: string
  mcpUrl: string
  /** connection names the example MCP server's resource declares */
  connections: readonly string[]
}

/** What `init` did with each file: `created`, or `kept` (it existed). */
export type InitReport = Record<string, 'created' | 'kept'>

async function readJson(path: string): Promise<unknown> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as unknown
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw error
  }
}

/** Writes `value` as JSON unless the file exists (`wx`: never overwrites, even in a race). */
async function create(path: string, value: unknown, mode: number): Promise<'created' | 'kept'> {
  try {
    await writeFile(path, `${JSON.stringify(value, null, 2)}\n`, { mode, flag: 'wx' })
    return 'created'
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return 'kept'
    throw error
  }
}

/** Creates what is missing of the state folder; see the module comment. */
export async function initStateDir(options: InitOptions): Promise<InitReport> {
  const { stateDir } = options
  await mkdir(join(stateDir, 'clients'), { recursive: true, mode: 0o700 })
  const report: InitReport = {}

  const enclaveKeyFile = join(stateDir, 'clients', 'enclave.jwk.json')
  const pair = await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, [
    'sign',
  ])
  const fresh = {
    ...(await crypto.subtle.exportKey('jwk', pair.privateKey)),
    kid: randomBytes(12).toString('base64url'),
    alg: 'ES256',
    use: 'sig',
  }
  report['clients/enclave.jwk.json'] = await create(enclaveKeyFile, fresh, 0o600)
  const enclaveJwk = (await readJson(enclaveKeyFile)) as JsonWebKey & { kid?: string }
  const { d: _d, key_ops: _ops, ext: _ext, ...enclavePublicJwk } = enclaveJwk

  const mcpClientFile = join(stateDir, 'clients', 'example-mcp.json')
  report['clients/example-mcp.json'] = await create(
    mcpClientFile,
    { client_id: EXAMPLE_MCP_CLIENT_ID, client_secret: randomBytes(32).toString('base64url') },
    0o600,
  )
  const mcpClient = (await readJson(mcpClientFile)) as { client_secret: string }

  const clients = parseClients([
    {
      client_id: EXAMPLE_MCP_CLIENT_ID,
      client_secret: mcpClient.client_secret,
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
  report['clients.json'] = await create(join(stateDir, 'clients.json'), clients, 0o600)

  // The AS's own parser: a registry it would refuse is never written.
  const resources = parseResources({
    resources: [
      {
        resource: options.mcpUrl,
        scopes: ['read', 'api:call'],
        connections: options.connections,
        accessTokenTtl: 300,
        dispatchClients: [EXAMPLE_MCP_CLIENT_ID],
      },
      {
        resource: `${options.issuer}/connections`,
        scopes: ['connections:read', 'connections:write'],
        connections: [],
        accessTokenTtl: 300,
      },
    ],
  })
  report['resources.json'] = await create(join(stateDir, 'resources.json'), { resources }, 0o644)
  return report
}
