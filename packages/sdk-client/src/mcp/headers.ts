/**
 * MCP request headers of the 2026-07-28 Streamable HTTP transport (SEP-2243):
 * `Mcp-Method` / `Mcp-Name` on every POST, and `Mcp-Param-<Name>` for tool arguments whose
 * input schema property carries an `x-mcp-header` annotation.
 */

/** RFC 9110 §5.6.2 `token` characters (what a header field name may contain). */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/
/** SEP-2243: only these property types may be mirrored (`number` may not: float formatting is ambiguous). */
const HEADER_TYPES = new Set(['string', 'integer', 'boolean'])

/** `x-mcp-header` annotations of a tool: argument name → header name suffix. */
export type ToolHeaderMap = ReadonlyMap<string, string>

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/**
 * Reads the `x-mcp-header` annotations of a tool's `inputSchema` (top-level properties).
 * Returns `undefined` when an annotation is invalid — empty, not an RFC 9110 token, on a
 * property whose type is not `string`, `integer` or `boolean`, or a case-insensitive duplicate — because the
 * spec says a client MUST then exclude the tool.
 *
 * @example
 * ```ts
 * toolHeaderMap({ type: 'object', properties: { region: { type: 'string', 'x-mcp-header': 'Region' } } })
 * // Map { 'region' => 'Region' }
 * ```
 */
export function toolHeaderMap(inputSchema: unknown): ToolHeaderMap | undefined {
  const map = new Map<string, string>()
  if (!isRecord(inputSchema) || !isRecord(inputSchema.properties)) return map
  const seen = new Set<string>()
  for (const [argument, schema] of Object.entries(inputSchema.properties)) {
    if (!isRecord(schema) || !('x-mcp-header' in schema)) continue
    const name = schema['x-mcp-header']
    if (typeof name !== 'string' || name === '' || !TOKEN.test(name)) return undefined
    const type = schema.type
    if (typeof type !== 'string' || !HEADER_TYPES.has(type)) return undefined
    const folded = name.toLowerCase()
    if (seen.has(folded)) return undefined
    seen.add(folded)
    map.set(argument, name)
  }
  return map
}

/** A value is sent as-is only when it is visible ASCII without leading/trailing whitespace. */
function needsBase64(value: string): boolean {
  return /[^\x20-\x7e]/.test(value) || value !== value.trim()
}

/**
 * Encodes one argument value for an `Mcp-Param-*` header: numbers in decimal, booleans as
 * `true`/`false`, strings as-is unless they contain non-ASCII, control characters or
 * leading/trailing whitespace, which are sent as `=?base64?<base64 of UTF-8>?=`.
 * `null`/`undefined` (and non-primitives) yield `undefined`: the header is omitted.
 */
export function encodeHeaderValue(value: unknown): string | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : undefined
  if (typeof value === 'boolean') return value ? 'true' : 'false'
  if (typeof value !== 'string') return undefined
  if (!needsBase64(value)) return value
  const bytes = new TextEncoder().encode(value)
  let binary = ''
  for (const byte of bytes) binary += String.fromCharCode(byte)
  return `=?base64?${btoa(binary)}?=`
}

/** The `Mcp-Param-*` headers for a tool call. */
export function toolParamHeaders(
  map: ToolHeaderMap | undefined,
  args: Record<string, unknown>,
): Record<string, string> {
  const headers: Record<string, string> = {}
  if (map === undefined) return headers
  for (const [argument, name] of map) {
    const encoded = encodeHeaderValue(args[argument])
    if (encoded !== undefined) headers[`Mcp-Param-${name}`] = encoded
  }
  return headers
}
