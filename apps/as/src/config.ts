import { join, resolve } from 'node:path'
import type { ClientMetadata } from 'oidc-provider'
import type { ResourceDefinition } from './registry/resources.ts'

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
  /** When set, `GET /metrics` requires `Authorization: Bearer <metricsToken>`. */
  metricsToken?: string
  /** Failed sign-ins per username in 15 minutes before 429 (per client IP: 4×). Default 5. */
  loginMaxFailures?: number
}

/** Reads the environment variables of wire.md into a config. */
export function configFromEnv(
  env: NodeJS.ProcessEnv,
  cwd = process.cwd(),
): AuthorizationServerConfig {
  const stateDir = resolve(cwd, env.DAUTH_STATE_DIR ?? '.dauth')
  const port = env.DAUTH_AS_PORT === undefined ? 4000 : Number(env.DAUTH_AS_PORT)
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new TypeError('DAUTH_AS_PORT must be a port number')
  const config: AuthorizationServerConfig = {
    issuer: env.DAUTH_ISSUER ?? 'http://localhost:4000',
    port,
    stateDir,
    enclaveUrl: env.DAUTH_ENCLAVE_URL ?? 'http://127.0.0.1:4200',
    dev: env.DAUTH_DEV === '1',
    clientsFile: env.DAUTH_AS_CLIENTS_FILE ?? join(stateDir, 'clients.json'),
    resourcesFile: env.DAUTH_AS_RESOURCES_FILE ?? join(stateDir, 'resources.json'),
  }
  if (env.DATABASE_URL) config.databaseUrl = env.DATABASE_URL
  if (env.REDIS_URL) config.redisUrl = env.REDIS_URL
  if (env.DAUTH_AS_METRICS_TOKEN) config.metricsToken = env.DAUTH_AS_METRICS_TOKEN
  if (env.DAUTH_REDIS_PREFIX) config.redisKeyPrefix = env.DAUTH_REDIS_PREFIX
  return config
}

const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]'])

/** Production requires https issuers; http only for loopback hosts in dev/test. */
export function assertIssuer(issuer: string): void {
  const url = URL.parse(issuer)
  if (!url || url.search || url.hash || (url.pathname !== '/' && url.pathname !== '')) {
    throw new TypeError('issuer must be an origin URL without path, query or fragment')
  }
  if (issuer.endsWith('/')) throw new TypeError('issuer must not end with a slash')
  if (url.protocol === 'https:') return
  if (url.protocol === 'http:' && LOOPBACK.has(url.hostname)) return
  throw new TypeError('issuer must use https (http is allowed only for loopback hosts)')
}

export function isLoopbackIssuer(issuer: string): boolean {
  return LOOPBACK.has(new URL(issuer).hostname)
}
