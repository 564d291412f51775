/**
 * `MCPServer`: an OAuth 2.1 protected MCP server on `@modelcontextprotocol/sdk`. The core is
 * Web-standard (`fetch(Request) → Response`); `handler()` and `serve()` are node adapters.
 *
 * @module
 */
import { randomUUID } from 'node:crypto'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { MemoryReplayStore, RedisReplayStore, type ReplayStore } from '@dauth/protocol'
import type { AuthInfo } from '@modelcontextprotocol/sdk/server/auth/types.js'
import {
  McpServer,
  type RegisteredTool,
  ResourceTemplate,
} from '@modelcontextprotocol/sdk/server/mcp.js'
import { WebStandardStreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js'
import { normalizeObjectSchema } from '@modelcontextprotocol/sdk/server/zod-compat.js'
import { toJsonSchemaCompat } from '@modelcontextprotocol/sdk/server/zod-json-schema-compat.js'
import {
  type CallToolResult,
  CreateMessageResultSchema,
  ElicitResultSchema,
  type LoggingLevel,
  ListToolsRequestSchema,
  type ListToolsResult,
  LoggingLevelSchema,
  SetLevelRequestSchema,
  type Tool,
  SubscribeRequestSchema,
  UnsubscribeRequestSchema,
} from '@modelcontextprotocol/sdk/types.js'
import { Redis } from 'ioredis'
import { z } from 'zod'
import {
  type AuthFailure,
  type AuthorizeResult,
  authorizeRequest,
  type DpopPolicy,
} from './authorization/authorize.ts'
import { authFailureResponse, type ChallengeContext } from './authorization/challenge.ts'
import {
  type AuthorizationProvider,
  JWTValidator,
  MultiIssuerValidator,
  type VerifiedClaims,
} from './authorization/jwt.ts'
import {
  type DpopNonceSource,
  HmacDpopNonceSource,
  type HmacDpopNonceOptions,
} from './authorization/nonce.ts'
import type { RequestLike } from './authorization/request.ts'
import { runWithContext, type ToolContext } from './context.ts'
import { DispatchClient, type DispatchOptions } from './dispatch/client.ts'
import { DispatchError, MCPServerError } from './errors.ts'
import {
  buildProtectedResourceMetadata,
  getProtectedResourceMetadataUrl,
  PROTECTED_RESOURCE_METADATA_PATH,
  type ProtectedResourceMetadata,
} from './metadata/prm.ts'
import type { PromptDefinition } from './prompts/prompt.ts'
import type { ResourceDefinition, ResourceTemplateDefinition } from './resources/resource.ts'
import { MemoryEventStore } from './transport/events.ts'
import { toWebRequest, writeWebResponse } from './transport/node.ts'
import {
  corsHeaders,
  defaultAllowedHosts,
  isHostAllowed,
  preflightHeaders,
  type TransportSecurityOptions,
} from './transport/security.ts'
import {
  insufficientScopeResult,
  missingScopes,
  type ToolDefinition,
  type ToolExtra,
  toCallToolResult,
} from './tools/tool.ts'

/** Authorization options (ARCHITECTURE.md §4). */
export interface AuthorizationOptions {
  /** Default `true`. `false`: no tokens at all (scoped tools are then never callable). */
  enabled?: boolean
  /** Scopes every request needs (403 `insufficient_scope` otherwise). Default none. */
  requiredScopes?: readonly string[]
  /** Issuers accepted (RFC 9728 `authorization_servers`). Default `['http://localhost:4000']`. */
  authorizationServers?: readonly string[]
  /** Well-known path of the metadata (default `/.well-known/oauth-protected-resource`). */
  metadataPath?: string
  /** Seconds the AS metadata and JWKS are cached (default 300). */
  cacheTtl?: number
  /** Let requests without a valid token through as anonymous — to unscoped tools only. Default `false`. */
  failOpen?: boolean
  /** Refuse plain Bearer tokens (RFC 9449). Default `true`. */
  dpopRequired?: boolean
  /** Accept the DPoP scheme at all (default `true`). */
  dpop?: boolean
  /** DPoP proof algorithms (default `['ES256', 'EdDSA']`). */
  dpopAlgorithms?: readonly string[]
  /** Require server-provided nonces in proofs (RFC 9449 §9): `true`, HMAC options, or a source. */
  dpopNonce?: boolean | HmacDpopNonceOptions | DpopNonceSource
  /** `jti` replay store. Default: `RedisReplayStore` when `redisUrl` is set, else in-memory. */
  replayStore?: ReplayStore
  /** Redis for the replay store (several instances). */
  redisUrl?: string
  /** Key prefix in Redis (default `dauth:mcp:dpop:`). */
  redisPrefix?: string
  /** Expected `aud` (default: the resource URL). */
  audience?: string
  /** Check `aud` (default `true`; turning it off allows token passthrough — don't). */
  requireAudience?: boolean
  /** Extra scopes to advertise in `scopes_supported`. */
  scopesSupported?: readonly string[]
  /** Answer a call of a tool without its scopes with a tool error (default) or HTTP 403. */
  insufficientScopeResponse?: 'tool-error' | 'http-403'
  /** List only the tools the caller may call (default `true`). */
  filterToolsList?: boolean
  /** `realm` of the challenges. */
  realm?: string
  /** Minimum seconds between JWKS refreshes on an unknown `kid` (default 30). */
  jwksRefreshIntervalSeconds?: number
  /**
   * Called with every refused request's tagged failure (the log-only detail, e.g.
   * `{ reason: 'invalid_token', detail: 'aud' }`). Never receives the token.
   */
  onFailure?: (failure: AuthFailure) => void
  /** `fetch` for AS metadata and JWKS (tests). */
  fetch?: typeof fetch
  /** Clock in milliseconds (tests). */
  now?: () => number
}

/** Options of {@link MCPServer}. */
export interface MCPServerOptions {
  /** Version reported in `initialize` (default `0.1.0`). */
  version?: string
  /** `instructions` reported in `initialize`. */
  instructions?: string
  /** Canonical resource URL incl. path, e.g. `http://localhost:4100/mcp`. Default at `serve()`: `http://localhost:<port>/mcp`. */
  resourceUrl?: string
  authorization?: AuthorizationOptions
  /** Enables `getContext().dispatch`. */
  dispatch?: DispatchOptions
  transportSecurity?: TransportSecurityOptions
  /** Answer POSTs with `application/json` instead of an SSE stream (default `false`). */
  enableJsonResponse?: boolean
  /**
   * Stateful MCP sessions (`Mcp-Session-Id`), needed for server → client requests such as
   * elicitation and sampling. Off by default (stateless: any instance answers any request).
   * A session is bound to the token's `iss` + `sub` that opened it; another caller gets 404.
   */
  sessions?: SessionOptions
  /**
   * Advertise the `logging` capability: clients may call `logging/setLevel`, tools log with
   * `getContext().log()`. Default `false`.
   */
  logging?: boolean
  /**
   * Advertise `resources.subscribe`: clients may `resources/subscribe` / `unsubscribe`, and
   * `notifyResourceUpdated(uri)` tells the subscribed sessions. Needs `sessions`. Default `false`.
   */
  resourceSubscriptions?: boolean
}

/** Anything `MCPServer.collect` accepts. */
export type Collectable =
  | ToolDefinition
  | ResourceDefinition
  | ResourceTemplateDefinition
  | PromptDefinition

const LOG_SEVERITY = new Map<LoggingLevel, number>(
  LoggingLevelSchema.options.map((level, index) => [level, index]),
)

/** Options of stateful sessions. */
export interface SessionOptions {
  enabled: boolean
  /** Idle seconds after which a session is closed (default 600). */
  idleTimeoutSeconds?: number
  /** Maximum concurrent sessions (default 10 000; more → 503). */
  maxSessions?: number
  /**
   * SSE resumability (SEP-1699): every SSE stream opens with a priming event (`id`, `retry`),
   * messages are kept per session (bounded, in memory) and replayed after `Last-Event-ID`, so
   * a tool may `getContext().closeStream()` and the client polls for its result. Default off.
   */
  resumability?: boolean | { maxEvents?: number; retryIntervalMs?: number }
}

interface Session {
  transport: WebStandardStreamableHTTPServerTransport
  mcp: McpServer
  tools: [ToolDefinition, RegisteredTool][]
  owner: string | null
  lastSeen: number
}

/** Options of {@link MCPServer.serve}. */
export interface ServeOptions {
  /** Port (default 0 = any free port). */
  port?: number
  /** Interface (default: loopback for a loopback resource URL, else all). */
  host?: string
}

/** A listening server. */
export interface RunningServer {
  /** The resource URL (the MCP endpoint). */
  url: string
  /** The port actually listened on (differs from the URL's behind a proxy). */
  port: number
  close(): Promise<void>
}

const DEFAULT_MAX_BODY = 4 * 1024 * 1024
const JSON_HEADERS = { 'content-type': 'application/json', 'cache-control': 'no-store' }

function json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), { status, headers: { ...JSON_HEADERS, ...headers } })
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

async function readBody(
  request: Request,
  limit: number,
): Promise<{ ok: true; text: string } | { ok: false }> {
  const length = request.headers.get('content-length')
  if (length !== null && Number(length) > limit) return { ok: false }
  if (!request.body) return { ok: true, text: '' }
  const reader = request.body.getReader()
  const chunks: Uint8Array[] = []
  let total = 0
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    total += value.byteLength
    if (total > limit) {
      await reader.cancel().catch(() => undefined)
      return { ok: false }
    }
    chunks.push(value)
  }
  return { ok: true, text: Buffer.concat(chunks).toString('utf8') }
}

/**
 * A protected MCP server.
 *
 * @example
 * ```ts
 * const server = new MCPServer('github-tools', {
 *   resourceUrl: 'http://localhost:4100/mcp',
 *   authorization: { authorizationServers: ['http://localhost:4000'], dpopRequired: true },
 * })
 * server.collect(tool({ description: 'Echo', requiredScopes: ['read'], inputSchema: { text: z.string() } },
 *   function echo({ text }) { return text }))
 * const running = await server.serve({ port: 4100 })
 * ```
 */
export class MCPServer {
  /** Server name reported in `initialize`. */
  readonly name: string
  readonly #options: MCPServerOptions
  readonly #auth: Required<
    Pick<
      AuthorizationOptions,
      | 'enabled'
      | 'requiredScopes'
      | 'authorizationServers'
      | 'metadataPath'
      | 'failOpen'
      | 'insufficientScopeResponse'
      | 'filterToolsList'
    >
  >
  readonly #dpop: DpopPolicy
  readonly #tools = new Map<string, ToolDefinition>()
  readonly #resources = new Map<string, ResourceDefinition | ResourceTemplateDefinition>()
  readonly #prompts = new Map<string, PromptDefinition>()
  /** Subscribed URIs per live `McpServer` (stateful sessions). */
  readonly #subscriptions = new Map<McpServer, Set<string>>()
  /** `logging/setLevel` per session id. */
  readonly #logLevels = new Map<string, LoggingLevel>()
  readonly #setups: ((mcp: McpServer) => void)[] = []
  readonly #dispatch: DispatchClient | undefined
  readonly #redis: Redis | undefined
  #provider: AuthorizationProvider | undefined
  #resourceUrl: string | undefined
  readonly #sessions = new Map<string, Session>()
  #sweeper: ReturnType<typeof setInterval> | undefined

  /**
   * @param name - server name (MCP `serverInfo.name`)
   * @param options - see {@link MCPServerOptions}
   */
  constructor(name: string, options: MCPServerOptions = {}) {
    this.name = name
    this.#options = options
    const auth = options.authorization ?? {}
    this.#auth = {
      enabled: auth.enabled ?? true,
      requiredScopes: [...(auth.requiredScopes ?? [])],
      authorizationServers: [...(auth.authorizationServers ?? ['http://localhost:4000'])],
      metadataPath: auth.metadataPath ?? PROTECTED_RESOURCE_METADATA_PATH,
      failOpen: auth.failOpen ?? false,
      insufficientScopeResponse: auth.insufficientScopeResponse ?? 'tool-error',
      filterToolsList: auth.filterToolsList ?? true,
    }
    if (options.resourceUrl !== undefined)
      this.#resourceUrl = this.#checkResourceUrl(options.resourceUrl)
    let replayStore = auth.replayStore
    if (!replayStore && auth.redisUrl && this.#auth.enabled) {
      this.#redis = new Redis(auth.redisUrl, { maxRetriesPerRequest: 1, enableOfflineQueue: true })
      this.#redis.on('error', () => undefined)
      replayStore = new RedisReplayStore(this.#redis, {
        prefix: auth.redisPrefix ?? 'dauth:mcp:dpop:',
      })
    }
    let nonces: DpopNonceSource | undefined
    if (auth.dpopNonce === true) nonces = new HmacDpopNonceSource(auth.now ? { now: auth.now } : {})
    else if (auth.dpopNonce && typeof (auth.dpopNonce as DpopNonceSource).current === 'function') {
      nonces = auth.dpopNonce as DpopNonceSource
    } else if (auth.dpopNonce) {
      nonces = new HmacDpopNonceSource({
        ...(auth.now ? { now: auth.now } : {}),
        ...(auth.dpopNonce as HmacDpopNonceOptions),
      })
    }
    this.#dpop = {
      mode: auth.dpop === false ? 'disabled' : (auth.dpopRequired ?? true) ? 'required' : 'allowed',
      algorithms: [...(auth.dpopAlgorithms ?? ['ES256', 'EdDSA'])],
      replayStore:
        replayStore ??
        new MemoryReplayStore(auth.now ? { now: () => (auth.now as () => number)() / 1000 } : {}),
      ...(nonces ? { nonces } : {}),
    }
    if (options.dispatch) this.#dispatch = new DispatchClient(options.dispatch)
  }

  #checkResourceUrl(value: string): string {
    let url: URL
    try {
      url = new URL(value)
    } catch {
      throw new MCPServerError('ERR_CONFIG', 'resourceUrl must be an absolute URL')
    }
    if ((url.protocol !== 'https:' && url.protocol !== 'http:') || url.hash || url.search) {
      throw new MCPServerError(
        'ERR_CONFIG',
        'resourceUrl must be an http(s) URL without query or fragment',
      )
    }
    return value
  }

  /** The canonical resource URL (RFC 8707 / RFC 9728 `resource`). */
  get resourceUrl(): string {
    if (this.#resourceUrl === undefined) {
      throw new MCPServerError(
        'ERR_CONFIG',
        'resourceUrl is not known yet (set it or call serve())',
      )
    }
    return this.#resourceUrl
  }

  /** The absolute URL of this resource's protected resource metadata (RFC 9728 §3.1). */
  get resourceMetadataUrl(): string {
    return getProtectedResourceMetadataUrl(this.resourceUrl, this.#auth.metadataPath)
  }

  /** The collected tools, by name. */
  get tools(): ReadonlyMap<string, ToolDefinition> {
    return this.#tools
  }

  /**
   * Add tools, resources, resource templates and prompts (from {@link tool}, `resource`,
   * `resourceTemplate`, `prompt`).
   *
   * @throws MCPServerError `ERR_DUPLICATE_TOOL` for a tool name, `ERR_CONFIG` for a resource or
   *   prompt name already collected
   * @example
   * ```ts
   * server.collect(tool({ description: 'Delete file', requiredScopes: ['files:delete'] }, deleteFile))
   * ```
   */
  collect(...definitions: Collectable[]): this {
    for (const definition of definitions) {
      if ('kind' in definition) {
        const map: Map<string, Collectable> =
          definition.kind === 'prompt' ? this.#prompts : this.#resources
        if (map.has(definition.name)) {
          throw new MCPServerError(
            'ERR_CONFIG',
            `${definition.kind === 'prompt' ? 'Prompt' : 'Resource'} "${definition.name}" is already collected`,
          )
        }
        map.set(definition.name, definition)
        continue
      }
      if (this.#tools.has(definition.name)) {
        throw new MCPServerError(
          'ERR_DUPLICATE_TOOL',
          `Tool "${definition.name}" is already collected`,
        )
      }
      this.#tools.set(definition.name, definition)
    }
    return this
  }

  /**
   * Send `notifications/resources/updated` to every session subscribed to `uri` (option
   * `resourceSubscriptions`). Resolves once sent.
   */
  async notifyResourceUpdated(uri: string): Promise<void> {
    const sends: Promise<void>[] = []
    for (const [mcp, uris] of this.#subscriptions) {
      if (uris.has(uri)) sends.push(mcp.server.sendResourceUpdated({ uri }).catch(() => undefined))
    }
    await Promise.all(sends)
  }

  /**
   * Register anything else (resources, prompts, raw tools) on the official `McpServer`; `setup`
   * runs for every `McpServer` instance this server creates (one per HTTP request).
   *
   * @example
   * ```ts
   * server.configure((mcp) => mcp.registerResource('readme', 'file:///readme', {}, read))
   * ```
   */
  configure(setup: (mcp: McpServer) => void): this {
    this.#setups.push(setup)
    return this
  }

  /**
   * Replace the token validation (e.g. an external AS).
   *
   * @example
   * ```ts
   * server.setAuthorizationProvider(new JWTValidator({ jwksUri, issuer, audience }))
   * ```
   */
  setAuthorizationProvider(provider: AuthorizationProvider): this {
    this.#provider = provider
    return this
  }

  #getProvider(): AuthorizationProvider {
    if (this.#provider) return this.#provider
    const auth = this.#options.authorization ?? {}
    const audience = auth.requireAudience === false ? null : (auth.audience ?? this.resourceUrl)
    this.#provider = new MultiIssuerValidator(
      this.#auth.authorizationServers.map(
        (issuer) =>
          new JWTValidator({
            issuer,
            audience,
            ...(auth.cacheTtl !== undefined ? { cacheTtlSeconds: auth.cacheTtl } : {}),
            ...(auth.jwksRefreshIntervalSeconds !== undefined
              ? { jwksRefreshIntervalSeconds: auth.jwksRefreshIntervalSeconds }
              : {}),
            ...(auth.fetch ? { fetch: auth.fetch } : {}),
            ...(auth.now ? { now: auth.now } : {}),
          }),
      ),
    )
    return this.#provider
  }

  /** The RFC 9728 document of this resource. */
  get protectedResourceMetadata(): ProtectedResourceMetadata {
    const scopes = new Set<string>(this.#auth.requiredScopes)
    for (const definition of this.#tools.values()) {
      for (const scope of definition.requiredScopes) scopes.add(scope)
    }
    for (const scope of this.#options.authorization?.scopesSupported ?? []) scopes.add(scope)
    return buildProtectedResourceMetadata({
      resourceUrl: this.resourceUrl,
      authorizationServers: this.#auth.authorizationServers,
      scopesSupported: [...scopes],
      dpopAlgorithms: this.#dpop.mode === 'disabled' ? undefined : this.#dpop.algorithms,
      dpopRequired: this.#dpop.mode === 'required',
    })
  }

  /**
   * The authorization core for one request (token, DPoP proof, server-level scopes). Framework
   * adapters and benchmarks call this; `fetch` uses it.
   */
  authorize(request: RequestLike): Promise<AuthorizeResult> {
    const now = this.#options.authorization?.now
    return authorizeRequest(request, {
      provider: this.#getProvider(),
      resourceUrl: this.resourceUrl,
      dpop: this.#dpop,
      requiredScopes: this.#auth.requiredScopes,
      ...(now ? { now } : {}),
    })
  }

  #challengeContext(scopes: readonly string[]): ChallengeContext {
    const realm = this.#options.authorization?.realm
    const nonce = this.#dpop.nonces?.current()
    return {
      resourceMetadataUrl: this.resourceMetadataUrl,
      scopes,
      dpopAccepted: this.#dpop.mode !== 'disabled',
      dpopAlgorithms: this.#dpop.algorithms,
      ...(nonce !== undefined ? { dpopNonce: nonce } : {}),
      ...(realm !== undefined ? { realm } : {}),
    }
  }

  #failure(failure: AuthFailure, scopes: readonly string[] = this.#auth.requiredScopes): Response {
    const answer = authFailureResponse(failure, this.#challengeContext(scopes))
    return json(answer.status, answer.body, answer.headers)
  }

  /**
   * The Web-standard core: answer one HTTP request (MCP endpoint, protected resource
   * metadata, CORS). Never throws; unknown errors become a generic 500.
   */
  async fetch(request: Request): Promise<Response> {
    try {
      return await this.#route(request)
    } catch {
      return json(500, { error: 'server_error', error_description: 'Internal server error' })
    }
  }

  async #route(request: Request): Promise<Response> {
    const url = new URL(request.url)
    const resource = new URL(this.resourceUrl)
    const security = this.#options.transportSecurity ?? {}
    const protect = security.dnsRebindingProtection ?? true
    if (protect) {
      const allowedHosts = (security.allowedHosts ?? defaultAllowedHosts(this.resourceUrl)).map(
        (h) => h.toLowerCase(),
      )
      if (!isHostAllowed(request.headers.get('host') ?? url.host, allowedHosts)) {
        return json(403, { error: 'forbidden', error_description: 'Host not allowed' })
      }
    }

    const metadataPaths = new Set([
      this.#auth.metadataPath,
      new URL(this.resourceMetadataUrl).pathname,
    ])
    if (this.#auth.enabled && metadataPaths.has(url.pathname)) {
      // Public metadata: any origin may read it (browser-based clients discover through it).
      if (request.method === 'OPTIONS')
        return new Response(null, { status: 204, headers: preflightHeaders('*') })
      if (request.method !== 'GET' && request.method !== 'HEAD') {
        return json(
          405,
          { error: 'method_not_allowed', error_description: 'Method not allowed' },
          { allow: 'GET' },
        )
      }
      return json(200, this.protectedResourceMetadata, {
        'cache-control': 'public, max-age=300',
        'access-control-allow-origin': '*',
      })
    }
    if (url.pathname !== resource.pathname) {
      return json(404, { error: 'not_found', error_description: 'Not found' })
    }

    const origin = request.headers.get('origin')
    const allowedOrigins = [resource.origin, ...(security.allowedOrigins ?? [])]
    const originAllowed = origin === null || allowedOrigins.includes(origin)
    if (protect && !originAllowed) {
      return json(403, { error: 'forbidden', error_description: 'Origin not allowed' })
    }
    const cors = origin !== null && originAllowed ? corsHeaders(origin) : {}
    const response = await this.#handleMcp(
      request,
      origin !== null && originAllowed ? origin : null,
    )
    for (const [name, value] of Object.entries(cors)) response.headers.set(name, value)
    return response
  }

  async #handleMcp(request: Request, corsOrigin: string | null): Promise<Response> {
    if (request.method === 'OPTIONS') {
      return new Response(null, {
        status: 204,
        headers: corsOrigin ? preflightHeaders(corsOrigin) : {},
      })
    }
    let authInfo: AuthInfo | undefined
    let anonymousBecause: AuthFailure | undefined
    let scheme: 'Bearer' | 'DPoP' = 'Bearer'
    if (this.#auth.enabled) {
      const result = await this.authorize(request)
      if (!result.ok) {
        try {
          this.#options.authorization?.onFailure?.(result.failure)
        } catch {
          // a logging hook must not change the answer
        }
      }
      if (result.ok) {
        authInfo = result.authInfo
        scheme = result.scheme
      } else if (this.#auth.failOpen && result.failure.reason !== 'insufficient_scope') {
        anonymousBecause = result.failure
      } else {
        return this.#failure(result.failure)
      }
    }
    if (this.#options.sessions?.enabled && request.method !== 'POST') {
      return this.#runSession(request, undefined, authInfo)
    }
    if (request.method !== 'POST') {
      // Stateless server: no standalone SSE stream and no sessions to delete.
      return json(
        405,
        { jsonrpc: '2.0', error: { code: -32000, message: 'Method not allowed.' }, id: null },
        { allow: 'POST' },
      )
    }
    const body = await readBody(
      request,
      this.#options.transportSecurity?.maxBodyBytes ?? DEFAULT_MAX_BODY,
    )
    if (!body.ok) {
      return json(413, {
        jsonrpc: '2.0',
        error: { code: -32000, message: 'Request body too large' },
        id: null,
      })
    }
    let parsed: unknown
    try {
      parsed = JSON.parse(body.text)
    } catch {
      return json(400, {
        jsonrpc: '2.0',
        error: { code: -32700, message: 'Parse error' },
        id: null,
      })
    }
    const refused = this.#precheckToolCalls(parsed, authInfo, anonymousBecause, scheme)
    if (refused) return refused
    if (this.#options.sessions?.enabled) return this.#runSession(request, parsed, authInfo)
    return this.#runMcp(request, parsed, authInfo)
  }

  async #runSession(
    request: Request,
    parsedBody: unknown,
    authInfo: AuthInfo | undefined,
  ): Promise<Response> {
    const claims = authInfo?.extra as VerifiedClaims | undefined
    const owner = claims ? `${claims.iss} ${claims.sub}` : null
    const sessionId = request.headers.get('mcp-session-id')
    const options = authInfo ? { parsedBody, authInfo } : { parsedBody }
    if (sessionId !== null) {
      const session = this.#sessions.get(sessionId)
      // Another caller's session id is answered exactly like an unknown one (no hijacking, no oracle).
      if (!session || session.owner !== owner) {
        return json(404, {
          jsonrpc: '2.0',
          error: { code: -32001, message: 'Session not found' },
          id: null,
        })
      }
      session.lastSeen = Date.now()
      this.#applyVisibility(session.tools, authInfo)
      return session.transport.handleRequest(request, options)
    }
    const isInitialize =
      isRecord(parsedBody) && parsedBody.method === 'initialize' && parsedBody.id !== undefined
    if (!isInitialize) {
      return json(400, {
        jsonrpc: '2.0',
        error: { code: -32000, message: 'Bad Request: No valid session ID provided' },
        id: null,
      })
    }
    const limits = this.#options.sessions ?? { enabled: true }
    if (this.#sessions.size >= (limits.maxSessions ?? 10_000)) {
      return json(503, {
        jsonrpc: '2.0',
        error: { code: -32000, message: 'Too many sessions' },
        id: null,
      })
    }
    this.#startSweeper(limits.idleTimeoutSeconds ?? 600)
    const { mcp, tools } = this.#createMcpServer(authInfo)
    const resumability = limits.resumability === true ? {} : limits.resumability || undefined
    const transport = new WebStandardStreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      enableJsonResponse: this.#options.enableJsonResponse ?? false,
      ...(resumability
        ? {
            eventStore: new MemoryEventStore(resumability.maxEvents),
            retryInterval: resumability.retryIntervalMs ?? 1000,
          }
        : {}),
      onsessioninitialized: (id) => {
        this.#sessions.set(id, { transport, mcp, tools, owner, lastSeen: Date.now() })
      },
      onsessionclosed: (id) => {
        this.#sessions.delete(id)
        this.#logLevels.delete(id)
        mcp.close().catch(() => undefined)
      },
    })
    await mcp.connect(transport)
    return transport.handleRequest(request, options)
  }

  #startSweeper(idleSeconds: number): void {
    if (this.#sweeper) return
    this.#sweeper = setInterval(
      () => {
        const cutoff = Date.now() - idleSeconds * 1000
        for (const [id, session] of this.#sessions) {
          if (session.lastSeen < cutoff) {
            this.#sessions.delete(id)
            this.#logLevels.delete(id)
            session.mcp.close().catch(() => undefined)
          }
        }
      },
      Math.min(60_000, idleSeconds * 1000),
    )
    this.#sweeper.unref()
  }

  /** Number of open sessions (observability). */
  get sessionCount(): number {
    return this.#sessions.size
  }

  /**
   * Scope checks of `tools/call` before the MCP layer: before input validation (a caller
   * without the scopes learns nothing about the arguments) and for hidden tools too.
   */
  #precheckToolCalls(
    parsed: unknown,
    authInfo: AuthInfo | undefined,
    anonymousBecause: AuthFailure | undefined,
    scheme: 'Bearer' | 'DPoP',
  ): Response | undefined {
    const messages = Array.isArray(parsed) ? (parsed as unknown[]) : [parsed]
    const granted = authInfo?.scopes ?? []
    const blocked: { id: unknown; definition: ToolDefinition; missing: string[] }[] = []
    for (const message of messages) {
      if (!isRecord(message) || message.method !== 'tools/call' || !isRecord(message.params))
        continue
      const name = message.params.name
      const definition = typeof name === 'string' ? this.#tools.get(name) : undefined
      if (!definition) continue
      const missing = missingScopes(definition.requiredScopes, granted)
      if (missing.length > 0) blocked.push({ id: message.id, definition, missing })
    }
    const first = blocked[0]
    if (!first) return undefined
    const needed = [
      ...new Set([
        ...this.#auth.requiredScopes,
        ...blocked.flatMap((b) => b.definition.requiredScopes),
      ]),
    ]
    if (this.#auth.enabled && authInfo === undefined) {
      // failOpen never reaches a scoped tool: answer as if there had been no fail-open.
      return this.#failure(anonymousBecause ?? { reason: 'missing_token' }, needed)
    }
    if (
      this.#auth.enabled &&
      (this.#auth.insufficientScopeResponse === 'http-403' || Array.isArray(parsed))
    ) {
      return this.#failure({ reason: 'insufficient_scope', scheme, scopes: needed })
    }
    if (Array.isArray(parsed) || first.id === undefined) return undefined
    return json(200, {
      jsonrpc: '2.0',
      id: first.id,
      result: insufficientScopeResult(
        first.definition.name,
        first.definition.requiredScopes,
        first.missing,
      ),
    })
  }

  async #runMcp(
    request: Request,
    parsedBody: unknown,
    authInfo: AuthInfo | undefined,
  ): Promise<Response> {
    const { mcp } = this.#createMcpServer(authInfo)
    // No sessionIdGenerator: stateless, one transport per HTTP request.
    const transport = new WebStandardStreamableHTTPServerTransport({
      enableJsonResponse: this.#options.enableJsonResponse ?? false,
    })
    await mcp.connect(transport)
    let response: Response
    try {
      response = await transport.handleRequest(
        request,
        authInfo ? { parsedBody, authInfo } : { parsedBody },
      )
    } catch (error) {
      await mcp.close().catch(() => undefined)
      throw error
    }
    let closed = false
    const cleanup = (): void => {
      if (closed) return
      closed = true
      mcp.close().catch(() => undefined)
    }
    if (!response.body) {
      cleanup()
      return new Response(null, { status: response.status, headers: response.headers })
    }
    const reader = response.body.getReader()
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        const { done, value } = await reader.read()
        if (done) {
          controller.close()
          cleanup()
        } else {
          controller.enqueue(value)
        }
      },
      cancel(reason) {
        cleanup()
        return reader.cancel(reason)
      },
    })
    return new Response(body, { status: response.status, headers: response.headers })
  }

  #applyVisibility(
    tools: [ToolDefinition, RegisteredTool][],
    authInfo: AuthInfo | undefined,
  ): void {
    const granted = authInfo?.scopes ?? []
    for (const [definition, registered] of tools) {
      // Direct assignment: no list_changed notification for a per-caller view.
      registered.enabled =
        !this.#auth.filterToolsList ||
        missingScopes(definition.requiredScopes, granted).length === 0
    }
  }

  #createMcpServer(authInfo: AuthInfo | undefined): {
    mcp: McpServer
    tools: [ToolDefinition, RegisteredTool][]
  } {
    const mcp = new McpServer(
      { name: this.name, version: this.#options.version ?? '0.1.0' },
      this.#options.instructions !== undefined ? { instructions: this.#options.instructions } : {},
    )
    const tools: [ToolDefinition, RegisteredTool][] = []
    for (const definition of this.#tools.values()) {
      const registered = mcp.registerTool(
        definition.name,
        {
          ...(definition.title !== undefined ? { title: definition.title } : {}),
          description: definition.description,
          ...(definition.inputSchema ? { inputSchema: definition.inputSchema } : {}),
          // Raw JSON Schema tools: the SDK passes the arguments through; #wrap validates them.
          ...(definition.inputJsonSchema ? { inputSchema: z.looseObject({}) } : {}),
          ...(definition.outputSchema ? { outputSchema: definition.outputSchema } : {}),
          ...(definition.annotations ? { annotations: definition.annotations } : {}),
        },
        this.#wrap(definition) as never,
      )
      tools.push([definition, registered])
    }
    this.#applyVisibility(tools, authInfo)
    if (tools.some(([definition]) => definition.inputJsonSchema))
      this.#listToolsVerbatim(mcp, tools)
    this.#registerResourcesAndPrompts(mcp)
    for (const setup of this.#setups) setup(mcp)
    return { mcp, tools }
  }

  /** `tools/list` as the SDK answers it, but raw JSON Schemas listed verbatim. */
  #listToolsVerbatim(mcp: McpServer, tools: [ToolDefinition, RegisteredTool][]): void {
    const schemaOf = (shape: z.ZodRawShape | undefined, pipeStrategy: 'input' | 'output') => {
      const object = normalizeObjectSchema(shape)
      return object
        ? (toJsonSchemaCompat(object, { strictUnions: true, pipeStrategy }) as Tool['inputSchema'])
        : undefined
    }
    mcp.server.setRequestHandler(
      ListToolsRequestSchema,
      (): ListToolsResult => ({
        tools: tools
          .filter(([, registered]) => registered.enabled)
          .map(([definition]) => {
            const outputSchema = schemaOf(definition.outputSchema, 'output')
            return {
              name: definition.name,
              ...(definition.title !== undefined ? { title: definition.title } : {}),
              description: definition.description,
              inputSchema: (definition.inputJsonSchema?.schema as
                | Tool['inputSchema']
                | undefined) ??
                schemaOf(definition.inputSchema, 'input') ?? { type: 'object', properties: {} },
              ...(outputSchema ? { outputSchema } : {}),
              ...(definition.annotations ? { annotations: definition.annotations } : {}),
            }
          }),
      }),
    )
  }

  #registerResourcesAndPrompts(mcp: McpServer): void {
    for (const definition of this.#resources.values()) {
      if (definition.kind === 'resource') {
        mcp.registerResource(definition.name, definition.uri, definition.metadata, (uri) =>
          definition.read(uri),
        )
      } else {
        const complete = Object.fromEntries(
          Object.entries(definition.complete).map(([name, fn]) => [
            name,
            (value: string) => fn(value),
          ]),
        )
        mcp.registerResource(
          definition.name,
          new ResourceTemplate(definition.uriTemplate, { list: undefined, complete }),
          definition.metadata,
          (uri, variables) => definition.read(uri, variables),
        )
      }
    }
    for (const definition of this.#prompts.values()) {
      const config = {
        ...(definition.title !== undefined ? { title: definition.title } : {}),
        ...(definition.description !== undefined ? { description: definition.description } : {}),
      }
      const argsSchema = definition.argsSchema
      if (argsSchema) {
        mcp.registerPrompt(definition.name, { ...config, argsSchema }, (args) =>
          definition.handler(args),
        )
      } else {
        mcp.registerPrompt(definition.name, config, () => definition.handler({}))
      }
    }
    if (this.#options.logging) {
      mcp.server.registerCapabilities({ logging: {} })
      mcp.server.setRequestHandler(SetLevelRequestSchema, (request, extra) => {
        if (extra.sessionId !== undefined)
          this.#logLevels.set(extra.sessionId, request.params.level)
        return {}
      })
    }
    if (this.#options.resourceSubscriptions) {
      mcp.server.registerCapabilities({ resources: { subscribe: true } })
      mcp.server.setRequestHandler(SubscribeRequestSchema, (request) => {
        let uris = this.#subscriptions.get(mcp)
        if (!uris) {
          uris = new Set()
          this.#subscriptions.set(mcp, uris)
        }
        uris.add(request.params.uri)
        return {}
      })
      mcp.server.setRequestHandler(UnsubscribeRequestSchema, (request) => {
        this.#subscriptions.get(mcp)?.delete(request.params.uri)
        return {}
      })
      const onclose = mcp.server.onclose
      mcp.server.onclose = () => {
        this.#subscriptions.delete(mcp)
        onclose?.()
      }
    }
  }

  #wrap(
    definition: ToolDefinition,
  ):
    | ((args: Record<string, unknown>, extra: ToolExtra) => Promise<CallToolResult>)
    | ((extra: ToolExtra) => Promise<CallToolResult>) {
    const run = async (
      args: Record<string, unknown>,
      extra: ToolExtra,
    ): Promise<CallToolResult> => {
      // Defence in depth: the HTTP pre-check already refused these.
      const missing = missingScopes(definition.requiredScopes, extra.authInfo?.scopes ?? [])
      if (missing.length > 0) {
        return insufficientScopeResult(definition.name, definition.requiredScopes, missing)
      }
      const invalid = definition.inputJsonSchema?.validate(args)
      if (invalid !== undefined) {
        return {
          content: [
            {
              type: 'text',
              text: `MCP error -32602: Input validation error: Invalid arguments for tool ${definition.name}: ${invalid}`,
            },
          ],
          isError: true,
        }
      }
      const context = this.#toolContext(extra)
      return toCallToolResult(await runWithContext(context, () => definition.handler(args, extra)))
    }
    return definition.inputSchema || definition.inputJsonSchema
      ? run
      : (extra: ToolExtra) => run({}, extra)
  }

  #toolContext(extra: ToolExtra): ToolContext {
    const authInfo = extra.authInfo
    const logLevels = this.#logLevels
    const claims = authInfo?.extra as VerifiedClaims | undefined
    const dispatchClient = this.#dispatch
    return {
      auth: authInfo && claims ? { subject: claims.sub, scopes: authInfo.scopes, claims } : null,
      authInfo,
      dispatch: (connection, request) => {
        if (!dispatchClient) {
          return Promise.reject(
            new DispatchError('ERR_DISPATCH_NOT_CONFIGURED', 'Dispatch is not configured'),
          )
        }
        if (!authInfo || !claims) {
          return Promise.reject(
            new DispatchError('ERR_NOT_AUTHENTICATED', 'Dispatch needs an authenticated caller'),
          )
        }
        return dispatchClient.dispatch({ token: authInfo.token, claims }, connection, request)
      },
      sessionId: extra.sessionId,
      signal: extra.signal,
      closeStream: () => {
        extra.closeSSEStream?.()
      },
      progress: async (progress, total, message) => {
        const progressToken = extra._meta?.progressToken
        if (progressToken === undefined) return
        await extra.sendNotification({
          method: 'notifications/progress',
          params: {
            progressToken,
            progress,
            ...(total !== undefined ? { total } : {}),
            ...(message !== undefined ? { message } : {}),
          },
        })
      },
      log: async (level, data, logger) => {
        if (!this.#options.logging) {
          throw new MCPServerError('ERR_CONFIG', 'log() needs the `logging` option')
        }
        const minimum = extra.sessionId !== undefined ? logLevels.get(extra.sessionId) : undefined
        if (
          minimum !== undefined &&
          (LOG_SEVERITY.get(level) ?? 0) < (LOG_SEVERITY.get(minimum) ?? 0)
        )
          return
        await extra.sendNotification({
          method: 'notifications/message',
          params: { level, data, ...(logger !== undefined ? { logger } : {}) },
        })
      },
      sample: (params) =>
        extra.sendRequest({ method: 'sampling/createMessage', params }, CreateMessageResultSchema),
      elicit: (params) =>
        extra.sendRequest({ method: 'elicitation/create', params }, ElicitResultSchema),
    }
  }

  /**
   * A node `http` request listener (use it in any node http server, or express/fastify raw).
   * Needs `resourceUrl` in the options (throws `ERR_CONFIG` otherwise).
   *
   * @example
   * ```ts
   * http.createServer(server.handler()).listen(4100)
   * ```
   */
  handler(): (req: IncomingMessage, res: ServerResponse) => void {
    // Fail at wiring time, not with a 500 per request.
    void this.resourceUrl
    return this.#nodeHandler()
  }

  #nodeHandler(): (req: IncomingMessage, res: ServerResponse) => void {
    return (req, res) => {
      void this.#handleNode(req, res)
    }
  }

  async #handleNode(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let response: Response
    try {
      response = await this.fetch(toWebRequest(req))
    } catch {
      response = json(500, { error: 'server_error', error_description: 'Internal server error' })
    }
    await writeWebResponse(response, res)
  }

  /**
   * Listen with node `http`. Without a configured `resourceUrl`, it becomes
   * `http://localhost:<port>/mcp`.
   */
  async serve(options: ServeOptions = {}): Promise<RunningServer> {
    // Outlive common load-balancer idle timeouts (60 s) so that the proxy, not us, closes idle
    // keep-alive connections (avoids resets on reuse).
    const server = createServer({ keepAliveTimeout: 65_000 }, this.#nodeHandler())
    let host = options.host
    if (host === undefined && this.#resourceUrl !== undefined) {
      const hostname = new URL(this.#resourceUrl).hostname
      if (hostname === 'localhost' || hostname === '127.0.0.1') host = '127.0.0.1'
      else if (hostname === '[::1]') host = '::1'
    }
    if (host === undefined && this.#resourceUrl === undefined) host = '127.0.0.1'
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(options.port ?? 0, host, () => {
        server.off('error', reject)
        resolve()
      })
    })
    const { port } = server.address() as AddressInfo
    this.#resourceUrl ??= `http://localhost:${port}/mcp`
    return {
      url: this.#resourceUrl,
      port,
      close: async () => {
        server.closeAllConnections()
        await new Promise<void>((resolve) => server.close(() => resolve()))
        await this.close()
      },
    }
  }

  /** Release owned resources (the Redis connection, if this server created it). */
  async close(): Promise<void> {
    if (this.#sweeper) clearInterval(this.#sweeper)
    this.#sweeper = undefined
    const sessions = [...this.#sessions.values()]
    this.#sessions.clear()
    await Promise.all(sessions.map((session) => session.mcp.close().catch(() => undefined)))
    if (this.#redis && this.#redis.status !== 'end') {
      await this.#redis.quit().catch(() => this.#redis?.disconnect())
    }
  }
}
