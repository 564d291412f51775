/**
 * `MCPServer`: an OAuth 2.1 protected MCP server on the official MCP TypeScript SDK v2
 * (`@modelcontextprotocol/server`). One endpoint serves both protocol eras: 2026-07-28
 * requests (per-request `_meta` envelope, `server/discover`) through the SDK's
 * `createMcpHandler`, and 2025 traffic (`initialize`, sessions) through its Streamable HTTP
 * transport. The core is Web-standard (`fetch(Request) → Response`); `handler()` and `serve()`
 * are node adapters.
 *
 * @module
 */
import { randomBytes, randomUUID } from 'node:crypto'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { MemoryReplayStore, RedisReplayStore, type ReplayStore } from '@dauth/protocol'
import {
  type AuthInfo,
  CLIENT_CAPABILITIES_META_KEY,
  type CallToolResult,
  type ClientCapabilities,
  type CreateMcpHandlerOptions,
  createMcpHandler,
  createRequestStateCodec,
  fromJsonSchema,
  type InputRequiredResult,
  isLegacyRequest,
  McpServer,
  type McpHttpHandler,
  MissingRequiredClientCapabilityError,
  ProtocolError,
  ProtocolErrorCode,
  type RegisteredTool,
  type RequestStateCodec,
  ResourceTemplate,
  type ServerCapabilities,
  type ServerContext,
  WebStandardStreamableHTTPServerTransport,
} from '@modelcontextprotocol/server'
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
import { TaskManager } from './tasks/manager.ts'
import { MemoryTaskStore, type TaskRecord, type TaskStore } from './tasks/store.ts'
import { isTaskWork, TASKS_EXTENSION_ID } from './tasks/task.ts'
import { Instrumentation } from './observability/instrument.ts'
import type { MCPServerObserver } from './observability/observer.ts'
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
  insufficientScopeText,
  missingScopes,
  type ToolDefinition,
  type ToolExtra,
  toCallToolResult,
} from './tools/tool.ts'

/** The caller's `iss` + `sub` (`''`: anonymous): owner of sessions and tasks. */
function ownerOf(authInfo: AuthInfo | undefined): string {
  const claims = authInfo?.extra as VerifiedClaims | undefined
  return claims ? `${claims.iss}\0${claims.sub}` : ''
}

/** Whether a 2026-07-28 request's envelope declares the tasks extension. */
function declaresTasks(capabilities: unknown): boolean {
  if (!isRecord(capabilities)) return false
  const extensions = capabilities.extensions
  return isRecord(extensions) && isRecord(extensions[TASKS_EXTENSION_ID])
}

const MISSING_TASKS_CAPABILITY = {
  requiredCapabilities: { extensions: { [TASKS_EXTENSION_ID]: {} } },
}

const TaskIdParams = z.looseObject({ taskId: z.string() })
// `inputResponses` is lifted out of the params by the SDK (ctx.mcpReq.inputResponses).
const TaskUpdateParams = z.looseObject({
  taskId: z.string(),
  inputResponses: z.record(z.string(), z.unknown()).optional(),
})

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
   * Check the token's and the DPoP proof's signatures on libuv's thread pool (default `true`):
   * the event loop serves other requests meanwhile, which is what a loaded server needs. The
   * price is a hop to the pool and back per check; `false` checks them in place, the lower
   * latency for a server that sees one request at a time (`pnpm bench` measures both).
   */
  offloadSignatures?: boolean
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
  /**
   * Answer 2025 POSTs with `application/json` instead of an SSE stream (default `false`).
   * 2026-07-28 requests are answered with JSON unless the call streams notifications first.
   */
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
  /**
   * The HMAC key of the multi-round-trip `requestState` (`getContext().mintRequestState`), at
   * least 32 bytes; share it between instances behind a load balancer (a 2026-07-28 retry may
   * reach another instance). Default: a random per-process key. `ttlSeconds` default 600.
   */
  requestState?: { key?: string | Uint8Array; ttlSeconds?: number }
  /**
   * The tasks extension (`io.modelcontextprotocol/tasks`, SEP-2663), advertised as soon as a
   * collected tool has `taskSupport`. Several instances behind a load balancer need a shared
   * `store` (the default {@link MemoryTaskStore} is per process).
   */
  tasks?: TasksOptions
  /**
   * Receives request, authorization-failure, tool-call and dispatch observations (metrics,
   * logs). `@dauth/mcp-server/prometheus` has a Prometheus implementation.
   */
  observer?: MCPServerObserver
}

/** Options of the tasks extension. */
export interface TasksOptions {
  /** Where task records live. Default: a {@link MemoryTaskStore} of `maxTasks` records. */
  store?: TaskStore
  /** Records the default store keeps at once (default 10 000). */
  maxTasks?: number
  /** Lifetime of a task from its creation, in milliseconds (default 600 000). */
  ttlMs?: number
  /** Polling interval suggested to clients, in milliseconds (default 500). */
  pollIntervalMs?: number
}

/** Anything `MCPServer.collect` accepts. */
export type Collectable =
  | ToolDefinition
  | ResourceDefinition
  | ResourceTemplateDefinition
  | PromptDefinition

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

/** Protocol revisions of the 2025 era (no per-request envelope). */
const ERA_2025_VERSIONS = new Set(['2024-11-05', '2025-03-26', '2025-06-18', '2025-11-25'])

/**
 * The common 2025 request, recognised without the SDK's schema-validating classifier (which
 * costs more than a token check per request): a JSON-RPC request with a 2025
 * `MCP-Protocol-Version` (or none) and no `_meta` at all, so no envelope claim. `false`
 * means "ask `isLegacyRequest`", never "modern".
 */
function isPlain2025Request(request: Request, body: unknown): boolean {
  if (!isRecord(body) || body.jsonrpc !== '2.0' || typeof body.method !== 'string') return false
  if (typeof body.id !== 'string' && typeof body.id !== 'number') return false
  if (body.params !== undefined && (!isRecord(body.params) || '_meta' in body.params)) return false
  const version = request.headers.get('mcp-protocol-version')
  return version === null || ERA_2025_VERSIONS.has(version.trim())
}

/**
 * A `CreateTaskResult` is `Result & Task`: drop the `content` the SDK's tools/call result check
 * needed. Only JSON answers can carry one (a task is created before anything streams).
 */
async function stripTaskContent(response: Response): Promise<Response> {
  if (!response.headers.get('content-type')?.startsWith('application/json')) return response
  const text = await response.text()
  let body: unknown
  try {
    body = JSON.parse(text)
  } catch {
    return new Response(text, { status: response.status, headers: response.headers })
  }
  if (isRecord(body) && isRecord(body.result) && body.result.resultType === 'task') {
    delete body.result.content
    const headers = new Headers(response.headers)
    headers.delete('content-length')
    return new Response(JSON.stringify(body), { status: response.status, headers })
  }
  return new Response(text, { status: response.status, headers: response.headers })
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
  /** Serves 2026-07-28 requests (per-request envelope): one `McpServer` per request. */
  readonly #modern: McpHttpHandler
  readonly #requestState: RequestStateCodec
  readonly #setups: ((mcp: McpServer) => void)[] = []
  readonly #dispatch: DispatchClient | undefined
  readonly #redis: Redis | undefined
  #provider: AuthorizationProvider | undefined
  #resourceUrl: string | undefined
  readonly #sessions = new Map<string, Session>()
  #sweeper: ReturnType<typeof setInterval> | undefined
  readonly #tasks: TaskManager
  readonly #observe: Instrumentation

  /**
   * @param name - server name (MCP `serverInfo.name`)
   * @param options - see {@link MCPServerOptions}
   */
  constructor(name: string, options: MCPServerOptions = {}) {
    this.name = name
    this.#options = options
    this.#observe = new Instrumentation(options.observer)
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
    this.#tasks = new TaskManager({
      store:
        options.tasks?.store ??
        new MemoryTaskStore(
          options.tasks?.maxTasks !== undefined ? { maxTasks: options.tasks.maxTasks } : {},
        ),
      ttlMs: options.tasks?.ttlMs ?? 600_000,
      pollIntervalMs: options.tasks?.pollIntervalMs ?? 500,
    })
    this.#requestState = createRequestStateCodec({
      key: options.requestState?.key ?? randomBytes(32),
      ...(options.requestState?.ttlSeconds !== undefined
        ? { ttlSeconds: options.requestState.ttlSeconds }
        : {}),
      // A state minted for one caller and method is refused for any other (spec: MRTR user binding).
      bind: (ctx) => {
        const claims = ctx.http?.authInfo?.extra as VerifiedClaims | undefined
        return `${ctx.mcpReq.method}\0${claims ? `${claims.iss}\0${claims.sub}` : ''}`
      },
    })
    const modernOptions: CreateMcpHandlerOptions = {
      // 2025 traffic never reaches this handler: #handleMcp routes it to our own transports.
      legacy: 'reject',
      // JSON unless the call streams progress or logs first (then SSE), whatever
      // `enableJsonResponse` says: 'json' would drop those notifications.
      responseMode: 'auto',
      maxRequestBodySize: options.transportSecurity?.maxBodyBytes ?? DEFAULT_MAX_BODY,
    }
    this.#modern = createMcpHandler(
      (context) => this.#createMcpServer(context.authInfo, context.requestInfo).mcp,
      modernOptions,
    )
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
    // 2026-07-28: to the open `subscriptions/listen` streams that asked for this URI.
    this.#modern.notify.resourceUpdated(uri)
    const sends: Promise<void>[] = []
    for (const [mcp, uris] of this.#subscriptions) {
      if (uris.has(uri)) sends.push(mcp.server.sendResourceUpdated({ uri }).catch(() => undefined))
    }
    await Promise.all(sends)
  }

  /**
   * Tell clients that the tool list changed (`notifications/tools/list_changed`): on 2026-07-28
   * the open `subscriptions/listen` streams that asked for it, on 2025 the open sessions.
   */
  notifyToolListChanged(): void {
    this.#modern.notify.toolsChanged()
    for (const session of this.#sessions.values()) session.mcp.sendToolListChanged()
  }

  /** Like {@link MCPServer.notifyToolListChanged}, for prompts. */
  notifyPromptListChanged(): void {
    this.#modern.notify.promptsChanged()
    for (const session of this.#sessions.values()) session.mcp.sendPromptListChanged()
  }

  /** Like {@link MCPServer.notifyToolListChanged}, for resources. */
  notifyResourceListChanged(): void {
    this.#modern.notify.resourcesChanged()
    for (const session of this.#sessions.values()) session.mcp.sendResourceListChanged()
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
            ...(auth.offloadSignatures === false ? { offloadSignatures: false } : {}),
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
    const { now, offloadSignatures } = this.#options.authorization ?? {}
    return authorizeRequest(request, {
      provider: this.#getProvider(),
      resourceUrl: this.resourceUrl,
      dpop: this.#dpop,
      requiredScopes: this.#auth.requiredScopes,
      ...(offloadSignatures === false ? { offloadSignatures } : {}),
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
    this.#observe.authFailure(failure.reason)
    const answer = authFailureResponse(failure, this.#challengeContext(scopes))
    return json(answer.status, answer.body, answer.headers)
  }

  /**
   * The Web-standard core: answer one HTTP request (MCP endpoint, protected resource
   * metadata, CORS). Never throws; unknown errors become a generic 500.
   */
  fetch(request: Request): Promise<Response> {
    return this.#observe.serve(request, async () => {
      try {
        return await this.#route(request)
      } catch {
        return json(500, { error: 'server_error', error_description: 'Internal server error' })
      }
    })
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
    // 2026-07-28 requests carry the per-request `_meta` envelope (malformed claims included:
    // the SDK answers them); everything else is 2025 traffic.
    const modern = !isPlain2025Request(request, parsed) && !(await isLegacyRequest(request, parsed))
    const refused = this.#precheckToolCalls(parsed, authInfo, anonymousBecause, scheme, modern)
    if (refused) return refused
    const taskTool = this.#taskToolCalled(parsed)
    if (taskTool?.taskSupport === 'required' && isRecord(parsed)) {
      const params = parsed.params as Record<string, unknown>
      const meta = isRecord(params._meta) ? params._meta : {}
      if (!modern || !declaresTasks(meta[CLIENT_CAPABILITIES_META_KEY])) {
        // Before dispatch: the SDK's tools/call turns any handler error into a tool result.
        return json(200, {
          jsonrpc: '2.0',
          id: parsed.id ?? null,
          error: {
            code: ProtocolErrorCode.MissingRequiredClientCapability,
            message: `Tool "${taskTool.name}" runs only as a task: declare ${TASKS_EXTENSION_ID}`,
            data: MISSING_TASKS_CAPABILITY,
          },
        })
      }
    }
    if (modern) {
      const response = await this.#modern.fetch(
        request,
        authInfo ? { parsedBody: parsed, authInfo } : { parsedBody: parsed },
      )
      return taskTool ? stripTaskContent(response) : response
    }
    if (this.#options.sessions?.enabled) return this.#runSession(request, parsed, authInfo)
    return this.#runMcp(request, parsed, authInfo)
  }

  /** The collected tool with `taskSupport` a `tools/call` request names, if any. */
  #taskToolCalled(parsed: unknown): ToolDefinition | undefined {
    if (!isRecord(parsed) || parsed.method !== 'tools/call' || !isRecord(parsed.params)) {
      return undefined
    }
    const name = parsed.params.name
    const definition = typeof name === 'string' ? this.#tools.get(name) : undefined
    return definition?.taskSupport ? definition : undefined
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
    modern: boolean,
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
    // 2026-07-28: the tool's handler answers the refusal (#createMcpServer), in that era's shape.
    if (modern || Array.isArray(parsed) || first.id === undefined) return undefined
    this.#observe.toolRefused(first.definition.name)
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

  /**
   * One official `McpServer` with every collected tool, resource and prompt, as `authInfo`
   * may see them. `modernRequest`: the 2026-07-28 request it serves alone. There a tool the
   * caller lacks scopes for takes any arguments (its handler answers the documented refusal
   * before anything is validated) and is hidden only from `tools/list`.
   */
  #createMcpServer(
    authInfo: AuthInfo | undefined,
    modernRequest?: Request,
  ): {
    mcp: McpServer
    tools: [ToolDefinition, RegisteredTool][]
  } {
    // The extension is served on the 2026-07-28 wire only (2025's tasks/* are another API).
    const tasks = modernRequest !== undefined && this.#offersTasks()
    const capabilities: ServerCapabilities = {
      ...(this.#options.logging ? { logging: {} } : {}),
      ...(this.#options.resourceSubscriptions ? { resources: { subscribe: true } } : {}),
      ...(tasks ? { extensions: { [TASKS_EXTENSION_ID]: {} } } : {}),
    }
    const mcp = new McpServer(
      { name: this.name, version: this.#options.version ?? '0.1.0' },
      {
        capabilities,
        ...(this.#options.instructions !== undefined
          ? { instructions: this.#options.instructions }
          : {}),
        requestState: { verify: (state, ctx) => this.#requestState.verify(state, ctx) },
        // sample()/elicit() to a client that did not declare the capability fail at once.
        enforceStrictCapabilities: true,
      },
    )
    const granted = authInfo?.scopes ?? []
    const tools: [ToolDefinition, RegisteredTool][] = []
    for (const definition of this.#tools.values()) {
      const refused =
        modernRequest !== undefined && missingScopes(definition.requiredScopes, granted).length > 0
      let inputSchema: z.ZodObject | ReturnType<typeof fromJsonSchema> | undefined
      if (refused) inputSchema = z.looseObject({})
      else if (definition.inputJsonSchema) {
        // Listed verbatim (SEP-1613 / 2020-12) and validated by the SDK's JSON Schema validator.
        inputSchema = fromJsonSchema(definition.inputJsonSchema.schema)
      } else if (definition.inputSchema) inputSchema = z.object(definition.inputSchema)
      const registered = mcp.registerTool(
        definition.name,
        {
          ...(definition.title !== undefined ? { title: definition.title } : {}),
          description: definition.description,
          ...(inputSchema ? { inputSchema } : {}),
          ...(definition.outputSchema ? { outputSchema: z.object(definition.outputSchema) } : {}),
          ...(definition.annotations ? { annotations: definition.annotations } : {}),
        },
        this.#wrap(definition, inputSchema !== undefined, mcp) as never,
      )
      tools.push([definition, registered])
    }
    if (modernRequest === undefined) this.#applyVisibility(tools, authInfo)
    else if (modernRequest.headers.get('mcp-method') === 'tools/list') {
      this.#applyVisibility(tools, authInfo)
    }
    this.#registerResourcesAndPrompts(mcp)
    if (tasks) this.#registerTaskMethods(mcp)
    for (const setup of this.#setups) setup(mcp)
    return { mcp, tools }
  }

  #offersTasks(): boolean {
    for (const definition of this.#tools.values()) if (definition.taskSupport) return true
    return false
  }

  /**
   * `tasks/get`, `tasks/update`, `tasks/cancel` (SEP-2663). Each needs the extension in the
   * request's envelope (-32021 otherwise), and answers only the task's creator (same `iss` +
   * `sub`) who still holds the tool's scopes; anyone else gets the unknown-task error (-32602),
   * so a task id is no oracle.
   */
  #registerTaskMethods(mcp: McpServer): void {
    const load = async (taskId: string, ctx: ServerContext): Promise<TaskRecord> => {
      const envelope = ctx.mcpReq.envelope as Record<string, unknown> | undefined
      if (!declaresTasks(envelope?.[CLIENT_CAPABILITIES_META_KEY])) {
        throw new MissingRequiredClientCapabilityError(
          MISSING_TASKS_CAPABILITY,
          `The tasks extension (${TASKS_EXTENSION_ID}) was not declared`,
        )
      }
      const authInfo = ctx.http?.authInfo
      const record = await this.#tasks.load(taskId)
      if (!record || record.owner !== ownerOf(authInfo)) {
        throw new ProtocolError(ProtocolErrorCode.InvalidParams, 'Unknown task')
      }
      const definition = this.#tools.get(record.tool)
      const missing = missingScopes(definition?.requiredScopes ?? [], authInfo?.scopes ?? [])
      if (missing.length > 0) {
        throw new ProtocolError(
          ProtocolErrorCode.InvalidParams,
          insufficientScopeText(record.tool, definition?.requiredScopes ?? [], missing),
        )
      }
      return record
    }
    mcp.server.setRequestHandler('tasks/get', { params: TaskIdParams }, async (params, ctx) => {
      const record = await load(params.taskId, ctx)
      return { resultType: 'complete', ...this.#tasks.detailed(record) }
    })
    mcp.server.setRequestHandler(
      'tasks/update',
      { params: TaskUpdateParams },
      async (params, ctx) => {
        const record = await load(params.taskId, ctx)
        // The SDK lifts an empty map to `undefined`: nothing answered.
        const responses = ctx.mcpReq.inputResponses ?? params.inputResponses ?? {}
        await this.#tasks.update(record.taskId, responses)
        return { resultType: 'complete' }
      },
    )
    mcp.server.setRequestHandler('tasks/cancel', { params: TaskIdParams }, async (params, ctx) => {
      await this.#tasks.cancel((await load(params.taskId, ctx)).taskId)
      return { resultType: 'complete' }
    })
  }

  #registerResourcesAndPrompts(mcp: McpServer): void {
    for (const definition of this.#resources.values()) {
      if (definition.kind === 'resource') {
        mcp.registerResource(definition.name, definition.uri, definition.metadata, (uri, ctx) =>
          runWithContext(this.#toolContext(ctx, mcp), () => definition.read(uri)),
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
          (uri, variables, ctx) =>
            runWithContext(this.#toolContext(ctx, mcp), () => definition.read(uri, variables)),
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
        mcp.registerPrompt(
          definition.name,
          { ...config, argsSchema: z.object(argsSchema) },
          (args: Record<string, unknown>, ctx: ServerContext) =>
            runWithContext(this.#toolContext(ctx, mcp), () => definition.handler(args)),
        )
      } else {
        mcp.registerPrompt(definition.name, config, (ctx: ServerContext) =>
          runWithContext(this.#toolContext(ctx, mcp), () => definition.handler({})),
        )
      }
    }
    if (this.#options.resourceSubscriptions) {
      mcp.server.setRequestHandler('resources/subscribe', (request) => {
        let uris = this.#subscriptions.get(mcp)
        if (!uris) {
          uris = new Set()
          this.#subscriptions.set(mcp, uris)
        }
        uris.add(request.params.uri)
        return {}
      })
      mcp.server.setRequestHandler('resources/unsubscribe', (request) => {
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
    takesArguments: boolean,
    mcp: McpServer,
  ):
    | ((
        args: Record<string, unknown>,
        extra: ToolExtra,
      ) => Promise<CallToolResult | InputRequiredResult>)
    | ((extra: ToolExtra) => Promise<CallToolResult | InputRequiredResult>) {
    const run = async (
      args: Record<string, unknown>,
      extra: ToolExtra,
    ): Promise<CallToolResult | InputRequiredResult> => {
      // Defence in depth on 2025 requests (the HTTP pre-check already refused these); the
      // refusal itself on 2026-07-28 requests.
      const missing = missingScopes(definition.requiredScopes, extra.http?.authInfo?.scopes ?? [])
      if (missing.length > 0) {
        this.#observe.toolRefused(definition.name)
        return insufficientScopeResult(definition.name, definition.requiredScopes, missing)
      }
      return this.#observe.toolCall(
        definition.name,
        () => call(args, extra),
        (result) => (result.resultType === 'task' ? 'task' : undefined),
      )
    }
    const call = async (
      args: Record<string, unknown>,
      extra: ToolExtra,
    ): Promise<CallToolResult | InputRequiredResult> => {
      const context = this.#toolContext(extra, mcp)
      const value = await runWithContext(context, () => definition.handler(args, extra))
      if (!isTaskWork(value)) return toCallToolResult(value)
      // Only the 2026-07-28 envelope can declare it: 2025 sessions have no tasks/* to poll with.
      const envelope = extra.mcpReq.envelope as Record<string, unknown> | undefined
      if (definition.taskSupport && declaresTasks(envelope?.[CLIENT_CAPABILITIES_META_KEY])) {
        const created = await this.#tasks.start(
          definition.name,
          ownerOf(extra.http?.authInfo),
          value,
          (signal, inputResponses) => this.#taskContext(context, signal, inputResponses),
        )
        // `content` only satisfies the SDK's tools/call result check; the HTTP edge strips it
        // (a CreateTaskResult is `Result & Task`: stripTaskContent).
        return { content: [], resultType: 'task', ...created }
      }
      // No task negotiated (optional support): the work is the call.
      return toCallToolResult(await runWithContext(context, () => value.work()))
    }
    return takesArguments ? run : (extra: ToolExtra) => run({}, extra)
  }

  #toolContext(extra: ServerContext, mcp: McpServer): ToolContext {
    const authInfo = extra.http?.authInfo
    const claims = authInfo?.extra as VerifiedClaims | undefined
    const dispatchClient = this.#dispatch
    const codec = this.#requestState
    // The public envelope type lists no keys; the SDK lifts them from `_meta` as received.
    const envelope = extra.mcpReq.envelope as Record<string, unknown> | undefined
    const envelopeCapabilities = envelope?.[CLIENT_CAPABILITIES_META_KEY] as
      | ClientCapabilities
      | undefined
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
        return this.#observe.dispatch(() =>
          dispatchClient.dispatch({ token: authInfo.token, claims }, connection, request),
        )
      },
      sessionId: extra.sessionId,
      signal: extra.mcpReq.signal,
      closeStream: () => {
        extra.http?.closeSSE?.()
      },
      progress: async (progress, total, message) => {
        const progressToken = extra.mcpReq._meta?.progressToken
        if (progressToken === undefined) return
        await extra.mcpReq.notify({
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
        // The SDK applies `logging/setLevel` (2025 sessions) or the request's `_meta` logLevel
        // (2026-07-28: none set = no log messages).
        await extra.mcpReq.log(level, data, logger)
      },
      // Related to the call: on a 2025 session they ride the call's own SSE stream.
      sample: (params) => extra.mcpReq.send({ method: 'sampling/createMessage', params }),
      elicit: (params) => extra.mcpReq.send({ method: 'elicitation/create', params }),
      inputResponses: extra.mcpReq.inputResponses,
      requestState: <T>() => extra.mcpReq.requestState<T>(),
      mintRequestState: (payload) => codec.mint(payload, extra),
      clientCapabilities: envelopeCapabilities ?? mcp.server.getClientCapabilities(),
    }
  }
  /** What a task's work sees: the creator's context, detached from the creating request. */
  #taskContext(
    base: ToolContext,
    signal: AbortSignal,
    inputResponses: Record<string, unknown> | undefined,
  ): ToolContext {
    const noStream = (): Promise<never> =>
      Promise.reject(
        new MCPServerError('ERR_CONFIG', 'A task has no stream: return inputRequired(...)'),
      )
    return {
      ...base,
      signal,
      inputResponses,
      closeStream: () => undefined,
      // Nobody listens any more: the request that created the task has been answered.
      progress: () => Promise.resolve(),
      log: () => Promise.resolve(),
      sample: noStream,
      elicit: noStream,
      requestState: () => undefined,
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
    await this.#modern.close().catch(() => undefined)
    this.#tasks.close()
    if (this.#redis && this.#redis.status !== 'end') {
      await this.#redis.quit().catch(() => this.#redis?.disconnect())
    }
  }
}
