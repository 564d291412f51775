/**
 * The example MCP server's environment variables (wire.md "Environment and state folder"): one
 * zod schema, from which `docs/reference/config.md` is generated, and its reading.
 *
 * @module
 */
import { join, resolve } from 'node:path'
import { filePath, issuer, parseEnv, port, text, url } from '@dauth/protocol/env'
import { z } from 'zod'

export const exampleMcpEnvSchema = z.object({
  DAUTH_STATE_DIR: filePath({
    description: 'state folder (holds `clients/example-mcp.json`)',
    defaultText: '`<repo>/.dauth`',
  }),
  DAUTH_ISSUER: issuer({
    default: 'http://localhost:4000',
    description: 'the AS issuer identifier',
  }),
  DAUTH_MCP_URL: url({
    schemes: ['http:', 'https:'],
    default: 'http://localhost:4100/mcp',
    description: 'canonical resource URL of the example server',
  }),
  DAUTH_MCP_PORT: port({
    allowZero: true,
    description: 'listen port (0 = a free port)',
    defaultText: 'the port of `DAUTH_MCP_URL`, else `4100`',
  }),
  DAUTH_ENCLAVE_URL: url({
    schemes: ['http:', 'https:'],
    default: 'http://127.0.0.1:4200',
    description: 'enclave base URL; also the `aud` of dispatch tokens',
  }),
  DAUTH_MCP_CLIENT_FILE: filePath({
    description:
      'this server\'s confidential client `{"client_id","client_secret"}`; dispatch (`whoami`, `api_request`) is off when the file is missing',
    defaultText: '`<state>/clients/example-mcp.json`',
  }),
  REDIS_URL: url({
    schemes: ['redis:', 'rediss:'],
    secrecy: 'url-userinfo',
    description: 'DPoP replay store shared by several instances',
    defaultText: 'unset → in-process store',
  }),
  DAUTH_MCP_REDIS_PREFIX: text({
    default: 'dauth:example-mcp:dpop:',
    description:
      "prefix of this server's Redis keys (DPoP replay); give each stack its own to share one Redis",
  }),
  DAUTH_MCP_METRICS_TOKEN: text({
    secrecy: 'secret',
    description: 'bearer token required by `GET /metrics` when set',
  }),
})

/** What `src/main.ts` starts the server with. */
export interface ExampleMcpEnv {
  issuer: string
  resourceUrl: string
  port: number
  enclaveUrl: string
  clientFile: string
  redisUrl?: string
  redisPrefix: string
  metricsToken?: string
}

/**
 * Reads {@link exampleMcpEnvSchema} from `env`.
 *
 * @throws {ConfigError} listing every bad variable, one line each.
 */
export function exampleMcpConfigFromEnv(
  env: NodeJS.ProcessEnv,
  repoRoot = resolve(import.meta.dirname, '../../..'),
): ExampleMcpEnv {
  const vars = parseEnv(exampleMcpEnvSchema, env)
  const stateDir = vars.DAUTH_STATE_DIR ?? join(repoRoot, '.dauth')
  const resourceUrl = vars.DAUTH_MCP_URL
  return {
    issuer: vars.DAUTH_ISSUER,
    resourceUrl,
    port: vars.DAUTH_MCP_PORT ?? Number(new URL(resourceUrl).port || 4100),
    enclaveUrl: vars.DAUTH_ENCLAVE_URL,
    clientFile: vars.DAUTH_MCP_CLIENT_FILE ?? join(stateDir, 'clients', 'example-mcp.json'),
    ...(vars.REDIS_URL ? { redisUrl: vars.REDIS_URL } : {}),
    redisPrefix: vars.DAUTH_MCP_REDIS_PREFIX,
    ...(vars.DAUTH_MCP_METRICS_TOKEN ? { metricsToken: vars.DAUTH_MCP_METRICS_TOKEN } : {}),
  }
}
