import { existsSync, mkdirSync } from 'node:fs'
import { join } from 'node:path'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
} from 'fastify'
import formbody from '@fastify/formbody'
import type Provider from 'oidc-provider'
import { METRICS_REFUSAL, metricsGuard, RedisReplayStore, type ReplayStore } from '@dauth/protocol'
import { Redis } from 'ioredis'
import { assertIssuer, isLoopbackIssuer, type AuthorizationServerConfig } from './config.ts'
import { sendError, HttpError } from './errors.ts'
import { loadSecret, loadSigningKeys, type SigningKeys } from './keys.ts'
import { createProvider, OAUTH_PREFIX } from './provider.ts'
import { loadClientsFile } from './registry/clients.ts'
import { loadResourcesFile, ResourceRegistry } from './registry/resources.ts'
import { registerConnectionRoutes } from './routes/connections.ts'
import { registerEnclaveRoutes } from './routes/enclave.ts'
import { registerInteractionRoutes } from './routes/interaction.ts'
import { SqliteStorage } from './storage/sqlite.ts'
import type { Storage } from './storage/types.ts'
import { guardStorage, guardStore } from './storage/guard.ts'
import { seedDevAccount } from './accounts/passwords.ts'
import {
  MemoryLoginRateLimiter,
  RedisLoginRateLimiter,
  type LoginRateLimiter,
} from './accounts/rateLimit.ts'
import { pinToIssuer } from './routes/pin.ts'
import { AsMetrics } from './metrics.ts'
import { serializeRequest } from './requestLog.ts'
import { genReqId, REQUEST_ID_HEADER } from './requestId.ts'
import { registerTracing } from './tracing.ts'
import { LOG_REDACT } from '@dauth/protocol/log'

/** A running authorization server. */
export interface RunningAuthorizationServer {
  /** The issuer identifier (also the base URL). */
  url: string
  /** The TCP port actually bound (differs from the issuer's when behind a proxy, or in tests). */
  port: number
  /**
   * Re-reads the signing keys now (it also happens every `keysReloadSeconds`); resolves the
   * `kid` that signs afterwards. Operators never need it; tests use it to avoid waiting.
   */
  reloadSigningKeys(): Promise<string>
  close(): Promise<void>
}

interface Runtime {
  issuer: string
  provider: Provider
  callback: (req: IncomingMessage, res: ServerResponse) => Promise<void>
  storage: Storage
  keys: SigningKeys
  /** A fresh oidc-provider for a new key set (its JWKS is fixed at construction). */
  providerFor: (keys: SigningKeys) => Provider
  replay: ReplayStore
  registry: ResourceRegistry
  redis: Redis | undefined
  csrfKey: Buffer
  limiter: { user: LoginRateLimiter; ip: LoginRateLimiter }
}

const BODY_LIMIT = 128 * 1024
/** oidc-provider's own body limit (lib/shared/selective_body.js, 56 KiB). */
const OIDC_BODY_LIMIT = 56 * 1024

/** Sign-in failures are counted in windows of 15 minutes. */
const LOGIN_WINDOW_SECONDS = 900

async function openStorage(config: AuthorizationServerConfig): Promise<Storage> {
  if (config.databaseUrl) {
    const { PostgresStorage } = await import('./storage/postgres.ts')
    return PostgresStorage.connect(config.databaseUrl)
  }
  mkdirSync(config.stateDir, { recursive: true, mode: 0o700 })
  return new SqliteStorage(join(config.stateDir, 'as.sqlite'))
}

async function buildRuntime(
  log: FastifyBaseLogger,
  config: AuthorizationServerConfig,
  issuer: string,
  now: () => number,
  metrics: AsMetrics,
): Promise<Runtime> {
  assertIssuer(issuer)
  // Outages of the stores surface as StorageUnavailableError (503 temporarily_unavailable).
  const storage = guardStorage(await openStorage(config))
  try {
    const keys = await loadSigningKeys(storage.meta, now)
    const cookieKeys = [(await loadSecret(storage.meta, 'cookie_key')).toString('base64url')]
    const dpopNonceSecret = await loadSecret(storage.meta, 'dpop_nonce_secret')
    const redis = config.redisUrl
      ? new Redis(config.redisUrl, {
          // Fail closed and fast when Redis is away: a replay check never hangs.
          maxRetriesPerRequest: 1,
          commandTimeout: 2000,
        })
      : undefined
    const redisPrefix = config.redisKeyPrefix ?? 'dauth:as:'
    let redisDown = false
    redis?.on('error', (error: Error) => {
      if (!redisDown)
        log.warn({ err: { name: error.name, message: error.message } }, 'redis unavailable')
      redisDown = true
    })
    redis?.on('ready', () => {
      redisDown = false
    })
    const replay: ReplayStore = redis
      ? guardStore<ReplayStore>(
          new RedisReplayStore(
            { set: (...args: (string | number)[]) => redis.call('SET', ...args) },
            { prefix: `${redisPrefix}replay:` },
          ),
        )
      : storage.replay
    // Login limits are shared through Redis when there is one (several instances), else
    // in-process. Redis down = sign-in fails closed (503), never unlimited guessing.
    const maxFailures = config.loginMaxFailures ?? 5
    const limiterFor = (kind: 'user' | 'ip', max: number): LoginRateLimiter =>
      redis
        ? guardStore<LoginRateLimiter>(
            new RedisLoginRateLimiter(redis, {
              max,
              windowSeconds: LOGIN_WINDOW_SECONDS,
              prefix: `${redisPrefix}login:${kind}:`,
            }),
          )
        : new MemoryLoginRateLimiter({ max, windowSeconds: LOGIN_WINDOW_SECONDS, now })
    const limiter = { user: limiterFor('user', maxFailures), ip: limiterFor('ip', maxFailures * 4) }
    const clients =
      config.clients ??
      (config.clientsFile && existsSync(config.clientsFile)
        ? loadClientsFile(config.clientsFile)
        : [])
    const resources =
      config.resources ??
      (config.resourcesFile && existsSync(config.resourcesFile)
        ? loadResourcesFile(config.resourcesFile)
        : [])
    const registry = new ResourceRegistry(issuer, resources)
    if (config.dev) await seedDevAccount(storage.accounts)
    const providerFor = (signingKeys: SigningKeys): Provider =>
      createProvider({
        issuer,
        dev: config.dev === true,
        enclaveUrl: config.enclaveUrl,
        keys: signingKeys,
        cookieKeys,
        dpopNonceSecret,
        clients,
        registry,
        oidcStore: storage.oidc,
        connections: storage.connections,
        accounts: storage.accounts,
        replay,
        now,
        metrics,
      })
    const provider = providerFor(keys)
    const csrfKey = await loadSecret(storage.meta, 'csrf_key')
    return {
      issuer,
      provider,
      callback: provider.callback(),
      storage,
      keys,
      providerFor,
      replay,
      registry,
      redis,
      csrfKey,
      limiter,
    }
  } catch (error) {
    await storage.close()
    throw error
  }
}

/**
 * Starts the DAuth authorization server: oidc-provider (endpoints under `/oauth`) inside
 * fastify with the connection vault and enclave routes.
 *
 * @example
 * const as = await startAuthorizationServer({ port: 0, host: '127.0.0.1', stateDir, enclaveUrl })
 * console.log(as.url) // http://127.0.0.1:43121
 * await as.close()
 */
export async function startAuthorizationServer(
  config: AuthorizationServerConfig,
): Promise<RunningAuthorizationServer> {
  const now = config.now ?? ((): number => Math.floor(Date.now() / 1000))
  const loopback = config.issuer === undefined || isLoopbackIssuer(config.issuer)
  const host =
    config.host ??
    (loopback
      ? config.issuer
        ? new URL(config.issuer).hostname.replace(/^\[|\]$/g, '')
        : '127.0.0.1'
      : '0.0.0.0')

  const app: FastifyInstance = fastify({
    logger:
      config.logger === false
        ? false
        : {
            level:
              config.logger === true || config.logger === undefined ? 'info' : config.logger.level,
            redact: LOG_REDACT,
            serializers: { req: serializeRequest },
            ...(config.logStream ? { stream: config.logStream } : {}),
          },
    bodyLimit: BODY_LIMIT,
    // X-Request-Id validated by genReqId (fastify's requestIdHeader would take any bytes).
    requestIdHeader: false,
    genReqId,
    trustProxy: false,
    // close() (SIGTERM) ends idle keep-alive sockets instead of waiting for their timeout.
    forceCloseConnections: 'idle',
  })
  let runtime: Runtime | undefined
  let boundPort = 0
  const ready = (): Runtime => {
    if (!runtime) throw new HttpError('service_unavailable', 'Starting')
    return runtime
  }

  // JSON only on the AS's own routes (README: non-JSON → 415); the login forms register
  // their own urlencoded parser. Child scopes inherit this.
  app.removeContentTypeParser('text/plain')
  const metrics = new AsMetrics()
  app.addHook('onRequest', (request, reply, done) => {
    // On the raw response: oidc-provider's routes hijack the reply.
    reply.raw.setHeader(REQUEST_ID_HEADER, request.id)
    done()
  })
  registerTracing(app)
  app.setErrorHandler((error, request, reply) => {
    metrics.failure(sendError(error, request, reply))
  })
  app.addHook('onResponse', (request, reply, done) => {
    metrics.vaultResponse(request.method, request.routeOptions.url, reply.statusCode)
    done()
  })

  // Prometheus text format. Bearer-protected when a metrics token is configured.
  const metricsAllowed = metricsGuard(config.metricsToken)
  app.get('/metrics', async (request, reply) => {
    if (!metricsAllowed(request.headers.authorization)) {
      return reply
        .code(METRICS_REFUSAL.status)
        .headers(METRICS_REFUSAL.headers)
        .send(METRICS_REFUSAL.body)
    }
    const { contentType, body } = await metrics.render()
    return reply.header('content-type', contentType).header('cache-control', 'no-store').send(body)
  })
  app.setNotFoundHandler((_request, reply) => {
    void reply
      .code(404)
      .header('cache-control', 'no-store')
      .send({ error: 'not_found', error_description: 'Not found' })
  })

  app.get('/healthz', (_request, reply) => {
    ready()
    void reply.send({ status: 'ok' })
  })

  // oidc-provider owns its request bodies: no fastify parsing under its routes.
  const forward = (rewriteTo?: string) =>
    function handler(this: unknown, request: FastifyRequest, reply: FastifyReply): void {
      const rt = ready()
      // oidc-provider reads at most OIDC_BODY_LIMIT and then answers a generic 400; a
      // declared oversize body gets the exact status, without reading it.
      if (Number(request.headers['content-length']) > OIDC_BODY_LIMIT) {
        void reply
          .code(413)
          .header('cache-control', 'no-store')
          .header('connection', 'close')
          .send({ error: 'invalid_request', error_description: 'Request body too large' })
        return
      }
      pinToIssuer(request.raw, rt.issuer)
      if (rewriteTo) request.raw.url = rewriteTo
      reply.hijack()
      void rt.callback(request.raw, reply.raw)
    }
  await app.register((scope, _opts, done) => {
    scope.removeAllContentTypeParsers()
    scope.addContentTypeParser('*', (_req, _payload, parsed) => parsed(null))
    scope.all(`${OAUTH_PREFIX}/*`, forward())
    scope.get('/.well-known/openid-configuration', forward())
    // RFC 8414 §3: same metadata document at the OAuth well-known URI.
    scope.get(
      '/.well-known/oauth-authorization-server',
      forward('/.well-known/openid-configuration'),
    )
    done()
  })

  await app.register(async (scope) => {
    await scope.register(formbody, { bodyLimit: BODY_LIMIT })
    registerInteractionRoutes(scope, () => {
      const rt = ready()
      return {
        provider: rt.provider,
        accounts: rt.storage.accounts,
        issuer: rt.issuer,
        csrfKey: rt.csrfKey,
        limiter: rt.limiter,
        onLoginRefused: (reason) => metrics.failure(reason),
      }
    })
  })

  registerConnectionRoutes(app, () => {
    const rt = ready()
    return {
      issuer: rt.issuer,
      keys: rt.keys,
      replay: rt.replay,
      connections: rt.storage.connections,
      now,
    }
  })
  registerEnclaveRoutes(app, () => {
    const rt = ready()
    return {
      issuer: rt.issuer,
      enclaveUrl: config.enclaveUrl,
      keys: rt.keys,
      replay: rt.replay,
      connections: rt.storage.connections,
      now,
      attestationTimeoutMs: config.attestationTimeoutMs ?? 5000,
      fetch: config.fetch ?? fetch,
    }
  })

  await app.listen({ port: config.port ?? 4000, host })
  try {
    const address = app.server.address() as AddressInfo
    boundPort = address.port
    const hostForUrl = host.includes(':') ? `[${host}]` : host
    const issuer =
      config.issuer ??
      `http://${hostForUrl === '0.0.0.0' ? 'localhost' : hostForUrl}:${address.port}`
    runtime = await buildRuntime(app.log, config, issuer, now, metrics)
  } catch (error) {
    await app.close()
    throw error
  }
  const rt = runtime
  // oidc-provider answers 500s itself with a generic body; keep the cause in the log only.
  const watch = (provider: Provider): void => {
    provider.on('server_error', (_ctx: unknown, error: Error) => {
      app.log.error(
        { err: { name: error.name, message: error.message, stack: error.stack } },
        'oidc-provider server_error',
      )
    })
  }
  watch(rt.provider)

  // Key rotation without restarts: re-read the stored key set; when it changed, or a staged
  // key's time to sign has come, every later request sees the new keys and a new
  // oidc-provider built on them (requests under way finish on the old one). Interactions and
  // grants live in storage and cookies keep their keys, so sign-ins under way carry on.
  const reloadSigningKeys = async (): Promise<string> => {
    const current = ready()
    const keys = await loadSigningKeys(current.storage.meta, now)
    if (keys.version === current.keys.version && keys.current.kid === current.keys.current.kid) {
      return current.keys.current.kid
    }
    const provider = current.providerFor(keys)
    watch(provider)
    runtime = { ...ready(), keys, provider, callback: provider.callback() }
    app.log.info({ kid: keys.current.kid }, 'signing keys reloaded')
    return keys.current.kid
  }
  const reloadTimer = setInterval(
    () => {
      reloadSigningKeys().catch((error: unknown) => {
        // Storage away: keep signing with the keys in hand; the next tick tries again.
        app.log.warn(
          { err: { name: (error as Error).name, message: (error as Error).message } },
          'signing keys reload failed',
        )
      })
    },
    (config.keysReloadSeconds ?? 30) * 1000,
  )
  reloadTimer.unref()
  app.log.info({ url: rt.issuer }, 'listening')

  return {
    url: rt.issuer,
    port: boundPort,
    reloadSigningKeys,
    close: async () => {
      clearInterval(reloadTimer)
      await app.close()
      rt.redis?.disconnect()
      await rt.storage.close()
    },
  }
}
