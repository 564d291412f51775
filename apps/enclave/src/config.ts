import { join, resolve } from 'node:path'
import { ConfigError, parseEnv } from '@dauth/protocol/env'
import { enclaveEnvSchema, WILDCARD_HOSTS } from './envSchema.ts'

/**
 * Launcher configuration. {@link enclaveConfigFromEnv} reads the wire.md env vars; tests
 * build the object directly.
 */
export interface EnclaveConfig {
  /** state folder; the enclave keeps its private files in `<stateDir>/enclave/` */
  stateDir: string
  /** AS issuer identifier (`DAUTH_ISSUER`) */
  issuer: string
  /** listen address (`DAUTH_ENCLAVE_HOST`); loopback only by default */
  host?: string
  /** listen port (`DAUTH_ENCLAVE_PORT`, 4200); 0 picks a free port */
  port?: number
  /** enclave base URL = `aud` of dispatch tokens and base of the DPoP `htu`; default `http://127.0.0.1:<port>` */
  enclaveUrl?: string
  /** private ES256 JWK of the AS client `dauth-enclave` (`DAUTH_ENCLAVE_CLIENT_KEY_FILE`) */
  clientKeyFile?: string
  clientId?: string
  /** `DAUTH_ENCLAVE_DEV_UPSTREAMS=1`: loopback upstreams and ports allowed */
  devUpstreams?: boolean
  /** `DAUTH_ENCLAVE_EXTRA_CA`: PEM file of a CA trusted in addition to the default roots */
  extraCaFile?: string
  /** `DAUTH_ENCLAVE_TEST_HOOKS=1`: builds a worker with crash / heap-snapshot / read-file hooks */
  testHooks?: boolean
  /** defaults 30 000 ms, 10 MiB, 1 MiB (ARCHITECTURE.md §6) */
  upstreamTimeoutMs?: number
  maxResponseBytes?: number
  maxRequestBytes?: number
  /** user the worker runs as when the launcher is root (default `nobody`) */
  workerUser?: string
  /**
   * `REDIS_URL`: DPoP `jti` replay store shared by every enclave instance (fail closed when
   * Redis cannot answer); unset → in-memory store of this launcher
   */
  redisUrl?: string
  /** Redis key prefix of the replay store (default `dauth:enclave:jti:`) */
  replayKeyPrefix?: string
}

export interface ResolvedEnclaveConfig {
  stateDir: string
  enclaveDir: string
  keyDir: string
  issuer: string
  host: string
  port: number
  enclaveUrl?: string
  clientKeyFile: string
  clientId: string
  devUpstreams: boolean
  extraCaFile?: string
  testHooks: boolean
  upstreamTimeoutMs: number
  maxResponseBytes: number
  maxRequestBytes: number
  workerUser: string
  redisUrl?: string
  replayKeyPrefix: string
}

export const DEFAULT_ISSUER = 'http://localhost:4000'
export const DEFAULT_PORT = 4200
export const DEFAULT_REPLAY_KEY_PREFIX = 'dauth:enclave:jti:'

export function resolveConfig(config: EnclaveConfig): ResolvedEnclaveConfig {
  const stateDir = resolve(config.stateDir)
  const enclaveDir = join(stateDir, 'enclave')
  return {
    stateDir,
    enclaveDir,
    keyDir: join(enclaveDir, 'keys'),
    issuer: config.issuer,
    host: config.host ?? '127.0.0.1',
    port: config.port ?? DEFAULT_PORT,
    ...(config.enclaveUrl !== undefined
      ? { enclaveUrl: config.enclaveUrl.replace(/\/$/, '') }
      : {}),
    clientKeyFile: config.clientKeyFile ?? join(stateDir, 'clients', 'enclave.jwk.json'),
    clientId: config.clientId ?? 'dauth-enclave',
    devUpstreams: config.devUpstreams ?? false,
    ...(config.extraCaFile !== undefined ? { extraCaFile: config.extraCaFile } : {}),
    testHooks: config.testHooks ?? false,
    upstreamTimeoutMs: config.upstreamTimeoutMs ?? 30_000,
    maxResponseBytes: config.maxResponseBytes ?? 10 * 1024 * 1024,
    maxRequestBytes: config.maxRequestBytes ?? 1024 * 1024,
    workerUser: config.workerUser ?? 'nobody',
    ...(config.redisUrl ? { redisUrl: config.redisUrl } : {}),
    replayKeyPrefix: config.replayKeyPrefix ?? DEFAULT_REPLAY_KEY_PREFIX,
  }
}

/**
 * Config from the environment (wire.md "Environment and state folder"; schema:
 * {@link enclaveEnvSchema}).
 *
 * @throws {ConfigError} listing every bad variable, one line each.
 */
export function enclaveConfigFromEnv(
  env: NodeJS.ProcessEnv = process.env,
  repoRoot = resolve(import.meta.dirname, '../../..'),
): EnclaveConfig {
  const vars = parseEnv(enclaveEnvSchema, env)
  // The default URL is `http://<host>:<port>`: on a wildcard address that names no host, and
  // dispatch tokens (whose `aud` it is) would never match.
  if (WILDCARD_HOSTS.has(vars.DAUTH_ENCLAVE_HOST) && !vars.DAUTH_ENCLAVE_URL) {
    throw new ConfigError([
      `DAUTH_ENCLAVE_URL: must be set when DAUTH_ENCLAVE_HOST is ${vars.DAUTH_ENCLAVE_HOST} (the URL the AS and the MCP servers reach the enclave at)`,
    ])
  }
  const config: EnclaveConfig = {
    stateDir: vars.DAUTH_STATE_DIR ?? join(repoRoot, '.dauth'),
    issuer: vars.DAUTH_ISSUER,
    host: vars.DAUTH_ENCLAVE_HOST,
    port: vars.DAUTH_ENCLAVE_PORT,
    devUpstreams: vars.DAUTH_ENCLAVE_DEV_UPSTREAMS,
    testHooks: vars.DAUTH_ENCLAVE_TEST_HOOKS,
    upstreamTimeoutMs: vars.DAUTH_ENCLAVE_UPSTREAM_TIMEOUT_MS,
    maxResponseBytes: vars.DAUTH_ENCLAVE_MAX_RESPONSE_BYTES,
    replayKeyPrefix: vars.DAUTH_ENCLAVE_REDIS_PREFIX,
  }
  if (vars.DAUTH_ENCLAVE_URL) config.enclaveUrl = vars.DAUTH_ENCLAVE_URL
  if (vars.DAUTH_ENCLAVE_CLIENT_KEY_FILE) config.clientKeyFile = vars.DAUTH_ENCLAVE_CLIENT_KEY_FILE
  if (vars.DAUTH_ENCLAVE_EXTRA_CA) config.extraCaFile = vars.DAUTH_ENCLAVE_EXTRA_CA
  if (vars.REDIS_URL) config.redisUrl = vars.REDIS_URL
  return config
}
