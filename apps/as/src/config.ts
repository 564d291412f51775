import { join, resolve } from 'node:path'
import { issuerProblem, parseEnv } from '@dauth/protocol/env'
import type { ClientMetadata } from 'oidc-provider'
import type { ResourceDefinition } from './registry/resources.ts'
import { asEnvSchema } from './envSchema.ts'

/** Configuration of {@link startAuthorizationServer}. */
export interface AuthorizationServerConfig {
  /** Issuer identifier, e.g. `http://localhost:4000`. Default: `http://<host>:<bound port>`. */
  issuer?: string
  /** Listen port (0 = a free port). Default 4000. */
  port?: number
  /** Listen address. Default `localhost` for loopback issuers, else `0.0.0.0`. */
  host?: string
  stateDir: string
  /** Enclave base URL; also the `aud` of dispatch tokens. */
  enclaveUrl: string
  /** `DAUTH_DEV=1`: open dynamic registration, seeded demo account, http issuer on localhost. */
  dev?: boolean
  /** `postgres://…` selects PostgreSQL; unset = `<stateDir>/as.sqlite`. */
  databaseUrl?: string
  /** Redis for the DPoP replay store and login rate limits when several instances run. */
  redisUrl?: string
  /** Prefix of every Redis key of this AS (`replay:…`, `login:…`). Default `dauth:as:`. */
  redisKeyPrefix?: string
  /** Static clients (default: read from clientsFile, if that exists). */
  clients?: ClientMetadata[]
  clientsFile?: string
  /** Resource registry (default: read from resourcesFile, if that exists). */
  resources?: ResourceDefinition[]
  resourcesFile?: string
  /** Pino logger options; false disables logging. */
  logger?: boolean | { level: string }
  /** Where pino writes JSON lines (default stdout). */
  logStream?: { write(line: string): void }
  /** Clock in epoch seconds (tests). */
  now?: () => number
  /** Outbound fetch for the attestation proxy (tests). */
  fetch?: typeof fetch
  attestationTimeoutMs?: number
  /** Seconds between re-reads of the signing keys (default 30): rotations apply without a restart. */
  keysReloadSeconds?: number
  /** When set, `GET /metrics` requires `Authorization: Bearer <metricsToken>`. */
  metricsToken?: string
  /** Failed sign-ins per username in 15 minutes before 429 (per client IP: 4×). Default 5. */
  loginMaxFailures?: number
}

/**
 * Reads the environment variables of wire.md into a config (schema: {@link asEnvSchema}).
 *
 * @throws {ConfigError} listing every bad variable, one line each.
 */
export function configFromEnv(
  env: NodeJS.ProcessEnv,
  cwd = process.cwd(),
): AuthorizationServerConfig {
  const vars = parseEnv(asEnvSchema, env)
  const stateDir = resolve(cwd, vars.DAUTH_STATE_DIR ?? '.dauth')
  const config: AuthorizationServerConfig = {
    issuer: vars.DAUTH_ISSUER,
    port: vars.DAUTH_AS_PORT,
    stateDir,
    enclaveUrl: vars.DAUTH_ENCLAVE_URL,
    dev: vars.DAUTH_DEV,
    clientsFile: vars.DAUTH_AS_CLIENTS_FILE ?? join(stateDir, 'clients.json'),
    resourcesFile: vars.DAUTH_AS_RESOURCES_FILE ?? join(stateDir, 'resources.json'),
  }
  if (vars.DATABASE_URL) config.databaseUrl = vars.DATABASE_URL
  if (vars.REDIS_URL) config.redisUrl = vars.REDIS_URL
  if (vars.DAUTH_AS_METRICS_TOKEN) config.metricsToken = vars.DAUTH_AS_METRICS_TOKEN
  config.redisKeyPrefix = vars.DAUTH_REDIS_PREFIX
  config.keysReloadSeconds = vars.DAUTH_AS_KEYS_RELOAD_SECONDS
  return config
}

const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]'])

/** Production requires https issuers; http only for loopback hosts in dev/test. */
export function assertIssuer(issuer: string): void {
  const problem = issuerProblem(issuer)
  if (problem) throw new TypeError(`issuer ${problem}`)
}

export function isLoopbackIssuer(issuer: string): boolean {
  return LOOPBACK.has(new URL(issuer).hostname)
}
