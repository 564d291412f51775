import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import type { CallToolResult, Implementation, Tool } from '@modelcontextprotocol/sdk/types.js'
import { authFetch } from '../auth/authFetch.ts'
import type { ClientAuth } from '../auth/types.ts'
import { InsufficientScopeError } from '../errors.ts'
import type { FetchLike } from '../internal/http.ts'

/** Options of {@link MCPClient.connect}. */
export interface MCPClientOptions {
  /** How requests are authenticated; none when omitted. */
  readonly auth?: ClientAuth
  /** The fetch that reaches the server and the AS (default: global fetch). */
  readonly fetch?: FetchLike
  readonly clientInfo?: Implementation
  /** Step-up attempts per call (default 2). */
  readonly maxStepUps?: number
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
 * An MCP client over Streamable HTTP, built on the official SDK's `Client` and
 * `StreamableHTTPClientTransport`, whose requests carry the configured auth
 * (see {@link authFetch}: DPoP proofs, nonce retry, discovery, step-up).
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
  /** The underlying official SDK client, for everything this wrapper does not cover. */
  readonly sdkClient: Client
  readonly #auth: ClientAuth | undefined
  readonly #maxStepUps: number

  private constructor(sdkClient: Client, auth: ClientAuth | undefined, maxStepUps: number) {
    this.sdkClient = sdkClient
    this.#auth = auth
    this.#maxStepUps = maxStepUps
  }

  /** Connects (MCP `initialize`) to the Streamable HTTP endpoint `url`. */
  static async connect(url: string | URL, options: MCPClientOptions = {}): Promise<MCPClient> {
    const maxStepUps = options.maxStepUps ?? 2
    const fetchImpl: FetchLike | undefined =
      options.auth !== undefined
        ? authFetch(options.auth, {
            maxStepUps,
            ...(options.fetch !== undefined ? { fetch: options.fetch } : {}),
          })
        : options.fetch
    const transport = new StreamableHTTPClientTransport(
      new URL(url),
      fetchImpl !== undefined ? { fetch: fetchImpl } : {},
    )
    const client = new Client(options.clientInfo ?? { name: '@dauth/sdk-client', version: '0.1.0' })
    await client.connect(transport)
    return new MCPClient(client, options.auth, maxStepUps)
  }

  /** All tools the server lists (follows `nextCursor`). */
  async listTools(): Promise<Tool[]> {
    const tools: Tool[] = []
    let cursor: string | undefined
    do {
      const page = await this.sdkClient.listTools(cursor !== undefined ? { cursor } : {})
      tools.push(...page.tools)
      cursor = page.nextCursor
    } while (cursor !== undefined)
    return tools
  }

  /**
   * Calls a tool. A tool-level scope refusal (`isError` with the documented
   * "requires scopes … Missing: […]" text) triggers step-up like a 403 `insufficient_scope`,
   * at most `maxStepUps` times; then {@link InsufficientScopeError}.
   */
  async callTool(name: string, args: Record<string, unknown> = {}): Promise<CallToolResult> {
    for (let stepUps = 0; ; stepUps += 1) {
      const result = (await this.sdkClient.callTool({ name, arguments: args })) as CallToolResult
      const missing = parseMissingScopes(result)
      if (missing === undefined || this.#auth === undefined) return result
      if (stepUps >= this.#maxStepUps || !(await this.#auth.stepUp(missing))) {
        throw new InsufficientScopeError(missing)
      }
    }
  }

  /** Closes the session and the transport. */
  async close(): Promise<void> {
    await this.sdkClient.close()
  }
}
