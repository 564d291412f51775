import { InvalidResponseError, McpRequestError } from '../errors.ts'
import { defaultFetch, discardBody, isRecord, type FetchLike } from '../internal/http.ts'

/** Protocol revisions spoken without a session (SEP-2575: no `initialize`, per-request `_meta`). */
export const STATELESS_PROTOCOL_VERSIONS: readonly string[] = ['2026-07-28']

const META_PROTOCOL_VERSION = 'io.modelcontextprotocol/protocolVersion'
const META_CLIENT_CAPABILITIES = 'io.modelcontextprotocol/clientCapabilities'
const META_CLIENT_INFO = 'io.modelcontextprotocol/clientInfo'
/** JSON-RPC error of a server that does not speak the requested protocol version. */
const UNSUPPORTED_PROTOCOL_VERSION = -32022

export interface StatelessChannelOptions {
  readonly url: URL
  readonly fetch: FetchLike | undefined
  readonly protocolVersion: string
  readonly clientInfo: { name: string; version: string }
  readonly capabilities: Record<string, unknown>
}

/**
 * One JSON-RPC request per HTTP POST, the 2026-07-28 way (SEP-2575, SEP-2243): every request
 * carries `_meta` (protocol version, client capabilities, client info), the
 * `MCP-Protocol-Version`, `Mcp-Method` and (for named operations) `Mcp-Name` headers. A
 * `-32022` refusal that lists a version this client also speaks is retried once with it.
 * Internal: {@link MCPClient} is the public surface.
 */
export class StatelessChannel {
  readonly #options: StatelessChannelOptions
  readonly #fetch: FetchLike
  #protocolVersion: string
  #nextId = 1

  constructor(options: StatelessChannelOptions) {
    this.#options = options
    this.#fetch = options.fetch ?? defaultFetch
    this.#protocolVersion = options.protocolVersion
  }

  get protocolVersion(): string {
    return this.#protocolVersion
  }

  /** Sends `method` and returns its `result`; JSON-RPC errors throw {@link McpRequestError}. */
  async request(
    method: string,
    params: Record<string, unknown> = {},
    extraHeaders: Record<string, string> = {},
  ): Promise<Record<string, unknown>> {
    let versionRetried = false
    for (;;) {
      const message = await this.#send(method, params, extraHeaders)
      const error = message.error
      if (isRecord(error)) {
        const code = typeof error.code === 'number' ? error.code : 0
        const text = typeof error.message === 'string' ? error.message : 'JSON-RPC error'
        if (code === UNSUPPORTED_PROTOCOL_VERSION && !versionRetried) {
          const next = this.#pickVersion(error.data)
          if (next !== undefined) {
            versionRetried = true
            this.#protocolVersion = next
            continue
          }
        }
        throw new McpRequestError(method, code, text, error.data)
      }
      if (!isRecord(message.result)) {
        throw new InvalidResponseError(`The ${method} response has no result object`)
      }
      return message.result
    }
  }

  /** A version the server listed that this client speaks, preferring the configured one. */
  #pickVersion(data: unknown): string | undefined {
    if (!isRecord(data) || !Array.isArray(data.supported)) return undefined
    const supported = data.supported.filter((v): v is string => typeof v === 'string')
    const ours = [this.#options.protocolVersion, ...STATELESS_PROTOCOL_VERSIONS]
    return ours.find((v) => supported.includes(v))
  }

  async #send(
    method: string,
    params: Record<string, unknown>,
    extraHeaders: Record<string, string>,
  ): Promise<Record<string, unknown>> {
    const id = this.#nextId++
    const meta = isRecord(params._meta) ? params._meta : {}
    const body = {
      jsonrpc: '2.0',
      id,
      method,
      params: {
        ...params,
        _meta: {
          ...meta,
          [META_PROTOCOL_VERSION]: this.#protocolVersion,
          [META_CLIENT_CAPABILITIES]: this.#options.capabilities,
          [META_CLIENT_INFO]: this.#options.clientInfo,
        },
      },
    }
    const headers = new Headers(extraHeaders)
    headers.set('content-type', 'application/json')
    headers.set('accept', 'application/json, text/event-stream')
    headers.set('mcp-protocol-version', this.#protocolVersion)
    headers.set('mcp-method', method)
    const name = nameOf(method, params)
    if (name !== undefined) headers.set('mcp-name', name)
    const response = await this.#fetch(this.#options.url, {
      method: 'POST',
      headers,
      body: JSON.stringify(body),
    })
    const type = response.headers.get('content-type') ?? ''
    if (type.includes('text/event-stream')) return readSseResponse(response, id, method)
    if (!type.includes('application/json')) {
      await discardBody(response)
      throw new InvalidResponseError(`The ${method} response (HTTP ${response.status}) is not JSON`)
    }
    const message: unknown = await response.json().catch(() => undefined)
    if (!isRecord(message)) throw new InvalidResponseError(`The ${method} response is not JSON-RPC`)
    return message
  }
}

/** `Mcp-Name`: the tool / prompt name or resource URI a request is about (SEP-2243). */
function nameOf(method: string, params: Record<string, unknown>): string | undefined {
  const value =
    method === 'tools/call' || method === 'prompts/get'
      ? params.name
      : method === 'resources/read'
        ? params.uri
        : undefined
  return typeof value === 'string' ? value : undefined
}

/** Reads an SSE response stream until the JSON-RPC response with `id` arrives. */
async function readSseResponse(
  response: Response,
  id: number,
  method: string,
): Promise<Record<string, unknown>> {
  const text = await response.text()
  for (const event of text.split(/\r?\n\r?\n/)) {
    const data = event
      .split(/\r?\n/)
      .filter((line) => line.startsWith('data:'))
      .map((line) => line.slice(5).replace(/^ /, ''))
      .join('\n')
    if (data.trim() === '') continue
    let message: unknown
    try {
      message = JSON.parse(data)
    } catch {
      continue
    }
    if (isRecord(message) && message.id === id) return message
  }
  throw new InvalidResponseError(`The ${method} event stream ended without a response`)
}
