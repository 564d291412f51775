import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import {
  CreateMessageRequestSchema,
  ElicitRequestSchema,
  ListRootsRequestSchema,
  type CallToolResult,
  type CreateMessageRequest,
  type CreateMessageResult,
  type ElicitRequest,
  type ElicitResult,
  type GetPromptResult,
  type Implementation,
  type Prompt,
  type ReadResourceResult,
  type Resource,
  type Root,
  type Tool,
} from '@modelcontextprotocol/sdk/types.js'
import { authFetch } from '../auth/authFetch.ts'
import type { ClientAuth } from '../auth/types.ts'
import { ConfigurationError, InsufficientScopeError, InvalidResponseError } from '../errors.ts'
import { isRecord, type FetchLike } from '../internal/http.ts'
import { toolHeaderMap, toolParamHeaders, type ToolHeaderMap } from './headers.ts'
import { StatelessChannel, STATELESS_PROTOCOL_VERSIONS } from './stateless.ts'

/** The parameters of an `elicitation/create` request (form mode). */
export type ElicitationRequest = ElicitRequest['params']
/** Answers a server's elicitation: `{ action: 'accept', content }`, `'decline'` or `'cancel'`. */
export type ElicitationHandler = (request: ElicitationRequest) => Promise<ElicitResult>

/** The parameters of a `sampling/createMessage` request. */
export type SamplingRequest = CreateMessageRequest['params']
/**
 * Answers a server's `sampling/createMessage` with the host application's model: the
 * application decides (and should let its user decide) whether to run the prompt at all.
 */
export type SamplingHandler = (request: SamplingRequest) => Promise<CreateMessageResult>
/** The filesystem roots the client exposes (`roots/list`), or a function that lists them now. */
export type RootsProvider = readonly Root[] | (() => Promise<readonly Root[]>)

/** Options of {@link MCPClient.connect}. */
export interface MCPClientOptions {
  /** How requests are authenticated; none when omitted. */
  readonly auth?: ClientAuth
  /** The fetch that reaches the server and the AS (default: global fetch). */
  readonly fetch?: FetchLike
  readonly clientInfo?: Implementation
  /** Step-up attempts per call (default 2). */
  readonly maxStepUps?: number
  /**
   * MCP revision to speak. `'2026-07-28'` is the stateless protocol (SEP-2575: no
   * `initialize`, per-request `_meta`, `server/discover`, SEP-2243 headers, SEP-2322
   * multi-round-trip tool calls). Anything else (default) is the session protocol of the
   * official SDK, which negotiates the newest revision it knows (2025-11-25).
   */
  readonly protocolVersion?: string
  /**
   * Answers `elicitation/create` (a server request in the session protocol, an
   * `input_required` input request in the stateless one). Declares the `elicitation`
   * capability. Before the answer is returned, every requested property the user left out
   * that has a schema `default` is filled with it (SEP-1034).
   */
  readonly elicitation?: ElicitationHandler
  /**
   * Answers `sampling/createMessage` (session protocol: a server request; stateless: an
   * `input_required` input request). Declares the `sampling` capability. Without it, a
   * server's sampling request is refused: nothing is ever sent to a model by default.
   */
  readonly sampling?: SamplingHandler
  /** Answers `roots/list` in both protocols. Declares the `roots` capability. */
  readonly roots?: RootsProvider
  /** Input rounds per stateless request before giving up (default 8). */
  readonly maxInputRounds?: number
}

/**
 * The documented text of a per-tool scope refusal (ARCHITECTURE.md §4):
 * `Tool "<name>" requires scopes: ['a', 'b']. Missing: ['b']`.
 */
const MISSING_SCOPES = /requires scopes: \[[^\]]*\]\. Missing: \[([^\]]*)\]/

/** The missing scopes a tool-level scope refusal names, or `undefined` when `result` is not one. */
export function parseMissingScopes(result: CallToolResult): string[] | undefined {
  if (result.isError !== true) return undefined
  for (const item of result.content) {
    if (item.type !== 'text') continue
    const match = MISSING_SCOPES.exec(item.text)
    if (match?.[1] !== undefined) {
      return [...match[1].matchAll(/'([^']*)'/g)].map((m) => m[1] ?? '').filter((s) => s !== '')
    }
  }
  return undefined
}

/**
 * SEP-1034: fills each property of the requested schema that the accepted `content` lacks
 * with the property's `default`. Other actions are returned unchanged.
 */
export function applyElicitationDefaults(
  request: ElicitationRequest,
  result: ElicitResult,
): ElicitResult {
  if (result.action !== 'accept') return result
  const schema: unknown = 'requestedSchema' in request ? request.requestedSchema : undefined
  if (!isRecord(schema) || !isRecord(schema.properties)) return result
  const content: Record<string, unknown> = { ...result.content }
  for (const [name, property] of Object.entries(schema.properties)) {
    if (content[name] === undefined && isRecord(property) && property.default !== undefined) {
      content[name] = property.default
    }
  }
  return { ...result, content: content as ElicitResult['content'] }
}

type Page<T> = { items: T[]; nextCursor: string | undefined }

/** What MCPClient needs from a protocol: one implementation per transport style. */
interface Channel {
  list(
    method: 'tools/list' | 'resources/list' | 'prompts/list',
    cursor?: string,
  ): Promise<Page<unknown>>
  callTool(
    name: string,
    args: Record<string, unknown>,
    headers: Record<string, string>,
  ): Promise<CallToolResult>
  readResource(uri: string): Promise<ReadResourceResult>
  getPrompt(name: string, args: Record<string, string>): Promise<GetPromptResult>
  close(): Promise<void>
}

const LIST_KEY = {
  'tools/list': 'tools',
  'resources/list': 'resources',
  'prompts/list': 'prompts',
} as const

/**
 * An MCP client over Streamable HTTP whose requests carry the configured auth
 * (see {@link authFetch}: DPoP proofs, nonce retry, discovery, step-up). The session
 * protocol (2025-11-25 and older) runs on the official SDK's `Client`; the stateless
 * 2026-07-28 protocol is spoken directly (`protocolVersion: '2026-07-28'`).
 *
 * Tools whose input schema has an invalid `x-mcp-header` annotation are left out of
 * {@link MCPClient.listTools} (SEP-2243: a client MUST exclude them); with the 2026-07-28
 * protocol, annotated arguments are mirrored into `Mcp-Param-*` headers.
 *
 * @example
 * ```ts
 * const client = await MCPClient.connect('http://localhost:4100/mcp', { auth })
 * const tools = await client.listTools()
 * const result = await client.callTool('echo', { text: 'hello' })
 * await client.close()
 * ```
 */
export class MCPClient {
  /** The underlying official SDK client (session protocol only), for everything this wrapper does not cover. */
  readonly sdkClient: Client | undefined
  /** The protocol revision in use (the negotiated one for the session protocol). */
  readonly protocolVersion: string
  readonly #channel: Channel
  readonly #auth: ClientAuth | undefined
  readonly #maxStepUps: number
  readonly #stateless: boolean
  readonly #toolHeaders = new Map<string, ToolHeaderMap>()

  private constructor(init: {
    channel: Channel
    sdkClient: Client | undefined
    protocolVersion: string
    auth: ClientAuth | undefined
    maxStepUps: number
    stateless: boolean
  }) {
    this.#channel = init.channel
    this.sdkClient = init.sdkClient
    this.protocolVersion = init.protocolVersion
    this.#auth = init.auth
    this.#maxStepUps = init.maxStepUps
    this.#stateless = init.stateless
  }

  /**
   * Connects to the Streamable HTTP endpoint `url`: MCP `initialize` for the session
   * protocol, `server/discover` for the stateless one.
   */
  static async connect(url: string | URL, options: MCPClientOptions = {}): Promise<MCPClient> {
    const maxStepUps = options.maxStepUps ?? 2
    const fetchImpl: FetchLike | undefined =
      options.auth !== undefined
        ? authFetch(options.auth, {
            maxStepUps,
            ...(options.fetch !== undefined ? { fetch: options.fetch } : {}),
          })
        : options.fetch
    const clientInfo = options.clientInfo ?? { name: '@dauth/sdk-client', version: '0.1.0' }
    const elicitation = options.elicitation
    const answer =
      elicitation === undefined
        ? undefined
        : async (request: ElicitationRequest): Promise<ElicitResult> =>
            applyElicitationDefaults(request, await elicitation(request))
    const handlers: InputHandlers = {
      ...(answer !== undefined
        ? { 'elicitation/create': (params) => answer(params as ElicitationRequest) }
        : {}),
      ...(options.sampling !== undefined
        ? { 'sampling/createMessage': (params) => options.sampling!(params as SamplingRequest) }
        : {}),
      ...(options.roots !== undefined
        ? { 'roots/list': async () => ({ roots: [...(await listRoots(options.roots!))] }) }
        : {}),
    }
    const capabilities = {
      ...(answer !== undefined ? { elicitation: { form: {} } } : {}),
      ...(options.sampling !== undefined ? { sampling: {} } : {}),
      // The list is read on every request: there is nothing to announce a change of.
      ...(options.roots !== undefined ? { roots: { listChanged: false } } : {}),
    }

    const version = options.protocolVersion
    if (version !== undefined && STATELESS_PROTOCOL_VERSIONS.includes(version)) {
      const channel = new StatelessChannel({
        url: new URL(url),
        fetch: fetchImpl,
        protocolVersion: version,
        clientInfo,
        capabilities,
      })
      await channel.request('server/discover')
      return new MCPClient({
        channel: statelessChannel(channel, handlers, options.maxInputRounds ?? 8),
        sdkClient: undefined,
        protocolVersion: channel.protocolVersion,
        auth: options.auth,
        maxStepUps,
        stateless: true,
      })
    }

    const transport = new StreamableHTTPClientTransport(
      new URL(url),
      fetchImpl !== undefined ? { fetch: fetchImpl } : {},
    )
    const client = new Client(clientInfo, { capabilities })
    if (answer !== undefined) {
      client.setRequestHandler(ElicitRequestSchema, (request) => answer(request.params))
    }
    const sampling = options.sampling
    if (sampling !== undefined) {
      client.setRequestHandler(CreateMessageRequestSchema, (request) => sampling(request.params))
    }
    const roots = options.roots
    if (roots !== undefined) {
      client.setRequestHandler(ListRootsRequestSchema, async () => ({
        roots: [...(await listRoots(roots))],
      }))
    }
    await client.connect(transport)
    return new MCPClient({
      channel: sessionChannel(client),
      sdkClient: client,
      protocolVersion: transport.protocolVersion ?? 'unknown',
      auth: options.auth,
      maxStepUps,
      stateless: false,
    })
  }

  /** All tools the server lists (follows `nextCursor`), minus those with invalid `x-mcp-header` annotations. */
  async listTools(): Promise<Tool[]> {
    const tools: Tool[] = []
    for (const tool of (await this.#listAll('tools/list')) as Tool[]) {
      const headers = toolHeaderMap(tool.inputSchema)
      if (headers === undefined) continue
      this.#toolHeaders.set(tool.name, headers)
      tools.push(tool)
    }
    return tools
  }

  /** All resources the server lists (follows `nextCursor`). */
  async listResources(): Promise<Resource[]> {
    return (await this.#listAll('resources/list')) as Resource[]
  }

  /** All prompts the server lists (follows `nextCursor`). */
  async listPrompts(): Promise<Prompt[]> {
    return (await this.#listAll('prompts/list')) as Prompt[]
  }

  /** Reads one resource. */
  readResource(uri: string): Promise<ReadResourceResult> {
    return this.#channel.readResource(uri)
  }

  /** Gets one prompt with its arguments. */
  getPrompt(name: string, args: Record<string, string> = {}): Promise<GetPromptResult> {
    return this.#channel.getPrompt(name, args)
  }

  async #listAll(method: 'tools/list' | 'resources/list' | 'prompts/list'): Promise<unknown[]> {
    const items: unknown[] = []
    let cursor: string | undefined
    do {
      const page = await this.#channel.list(method, cursor)
      items.push(...page.items)
      cursor = page.nextCursor
    } while (cursor !== undefined)
    return items
  }

  /**
   * Calls a tool. A tool-level scope refusal (`isError` with the documented
   * "requires scopes … Missing: […]" text) triggers step-up like a 403 `insufficient_scope`,
   * at most `maxStepUps` times; then {@link InsufficientScopeError}. With the stateless
   * protocol, `input_required` results are answered (see `elicitation`) and the call retried.
   */
  async callTool(name: string, args: Record<string, unknown> = {}): Promise<CallToolResult> {
    let headers: Record<string, string> = {}
    if (this.#stateless) {
      if (!this.#toolHeaders.has(name)) await this.listTools()
      const map = this.#toolHeaders.get(name)
      if (map === undefined) {
        throw new ConfigurationError(`The server does not list a valid tool named ${name}`)
      }
      headers = toolParamHeaders(map, args)
    }
    for (let stepUps = 0; ; stepUps += 1) {
      const result = await this.#channel.callTool(name, args, headers)
      const missing = parseMissingScopes(result)
      if (missing === undefined || this.#auth === undefined) return result
      if (stepUps >= this.#maxStepUps || !(await this.#auth.stepUp(missing))) {
        throw new InsufficientScopeError(missing)
      }
    }
  }

  /** Closes the session and the transport. */
  async close(): Promise<void> {
    await this.#channel.close()
  }
}

function sessionChannel(client: Client): Channel {
  return {
    async list(method, cursor) {
      const params = cursor !== undefined ? { cursor } : {}
      const page =
        method === 'tools/list'
          ? await client.listTools(params)
          : method === 'resources/list'
            ? await client.listResources(params)
            : await client.listPrompts(params)
      const items = (page as Record<string, unknown>)[LIST_KEY[method]] as unknown[]
      return { items, nextCursor: page.nextCursor }
    },
    async callTool(name, args) {
      return (await client.callTool({ name, arguments: args })) as CallToolResult
    },
    readResource: (uri) => client.readResource({ uri }),
    getPrompt: (name, args) => client.getPrompt({ name, arguments: args }),
    close: () => client.close(),
  }
}

/** Answers to the input requests a server may embed in an `input_required` result. */
type InputHandlers = Partial<
  Record<
    'elicitation/create' | 'sampling/createMessage' | 'roots/list',
    (params: Record<string, unknown>) => Promise<unknown>
  >
>

async function listRoots(roots: RootsProvider): Promise<readonly Root[]> {
  return typeof roots === 'function' ? await roots() : roots
}

function statelessChannel(
  channel: StatelessChannel,
  handlers: InputHandlers,
  maxInputRounds: number,
): Channel {
  /** SEP-2322: answers `input_required` results and retries with the server's `requestState`. */
  const request = async (
    method: string,
    params: Record<string, unknown>,
    headers: Record<string, string> = {},
  ): Promise<Record<string, unknown>> => {
    let retry: Record<string, unknown> = params
    for (let round = 0; ; round += 1) {
      const result = await channel.request(method, retry, headers)
      // A result without resultType is complete.
      if (result.resultType !== 'input_required') return result
      if (round >= maxInputRounds) {
        throw new InvalidResponseError(
          `${method} still required input after ${maxInputRounds} rounds`,
        )
      }
      const inputRequests = isRecord(result.inputRequests) ? result.inputRequests : {}
      const inputResponses: Record<string, unknown> = {}
      for (const [key, input] of Object.entries(inputRequests)) {
        // Own properties only: a method named like an Object.prototype member is no handler.
        const handler =
          isRecord(input) &&
          typeof input.method === 'string' &&
          Object.hasOwn(handlers, input.method)
            ? handlers[input.method as keyof InputHandlers]
            : undefined
        if (handler === undefined || !isRecord(input)) {
          const what = isRecord(input) ? String(input.method) : 'unknown'
          throw new ConfigurationError(`No handler for the server's ${what} input request`)
        }
        inputResponses[key] = await handler(isRecord(input.params) ? input.params : {})
      }
      retry = {
        ...params,
        inputResponses,
        ...(typeof result.requestState === 'string' ? { requestState: result.requestState } : {}),
      }
    }
  }
  return {
    async list(method, cursor) {
      const result = await request(method, cursor !== undefined ? { cursor } : {})
      const items = result[LIST_KEY[method]]
      if (!Array.isArray(items)) throw new InvalidResponseError(`The ${method} result has no list`)
      return {
        items,
        nextCursor: typeof result.nextCursor === 'string' ? result.nextCursor : undefined,
      }
    },
    async callTool(name, args, headers) {
      return (await request('tools/call', { name, arguments: args }, headers)) as CallToolResult
    },
    async readResource(uri) {
      return (await request('resources/read', { uri })) as ReadResourceResult
    },
    async getPrompt(name, args) {
      return (await request('prompts/get', { name, arguments: args })) as GetPromptResult
    },
    close: () => Promise.resolve(),
  }
}
