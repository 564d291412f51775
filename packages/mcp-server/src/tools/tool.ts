/**
 * Tool definitions with per-tool scopes, and the documented refusal text.
 *
 * @module
 */
import {
  type CallToolResult,
  type InputRequiredResult,
  isInputRequiredResult,
  type ServerContext,
  type ToolAnnotations,
} from '@modelcontextprotocol/server'
import { Ajv2020 } from 'ajv/dist/2020.js'
import type { z } from 'zod'
import { MCPServerError } from '../errors.ts'
import type { TaskSupport, TaskWork } from '../tasks/task.ts'

/** A raw JSON Schema (2020-12) object schema for a tool's arguments. */
export interface JsonObjectSchema {
  type: 'object'
  [keyword: string]: unknown
}

/** Validates arguments against a raw JSON Schema: `undefined` when valid, else the error text. */
type ArgumentsValidator = (args: unknown) => string | undefined

const ajv = new Ajv2020({ strict: false, allErrors: false })

/**
 * The second argument of a tool handler: the official SDK's (v2) handler context `ctx`. The
 * caller's token is `ctx.http?.authInfo` (v1's `extra.authInfo`), the session `ctx.sessionId`,
 * the request `ctx.mcpReq` (`id`, `_meta`, `signal`, `inputResponses`, `requestState()`, …).
 */
export type ToolExtra = ServerContext

/** Arguments of a handler for an input shape (an empty object when the tool has none). */
export type ToolArgs<Shape extends z.ZodRawShape | undefined> = Shape extends z.ZodRawShape
  ? z.infer<z.ZodObject<Shape>>
  : Record<string, never>

/**
 * What a handler may return: a `CallToolResult` as is, `inputRequired(...)` (ask the client for
 * input, then be called again: multi-round-trip, 2026-07-28), a string (one text content), or
 * any other JSON value (serialised as one text content).
 */
export type ToolReturn =
  | CallToolResult
  | InputRequiredResult
  | string
  | number
  | boolean
  | object
  | null
  | undefined
  | TaskWork

/** A tool handler. */
export type ToolHandler<Shape extends z.ZodRawShape | undefined> = (
  args: ToolArgs<Shape>,
  extra: ToolExtra,
) => ToolReturn | Promise<ToolReturn>

/** Options of {@link tool}. */
export interface ToolOptions<Shape extends z.ZodRawShape | undefined> {
  /** Tool name; defaults to the handler's function name in snake_case (`deleteFile` → `delete_file`). */
  name?: string
  title?: string
  description: string
  /** Scopes the caller's token must carry to call (and, by default, to see) this tool. */
  requiredScopes?: readonly string[]
  /** Zod shape of the arguments (validated by the official SDK). */
  inputSchema?: Shape
  /**
   * The arguments as a raw JSON Schema 2020-12 object schema instead (listed verbatim, e.g.
   * with `$defs`, `$ref`, `additionalProperties`, `if`/`then`; validated with Ajv). Exclusive
   * with `inputSchema`.
   */
  inputJsonSchema?: JsonObjectSchema
  /** Zod shape of `structuredContent`, if the tool returns one. */
  outputSchema?: z.ZodRawShape
  annotations?: ToolAnnotations
  /**
   * Tasks extension (SEP-2663): the handler may return `runAsTask(work)`; see {@link TaskSupport}.
   * Default: none (the tool always answers synchronously).
   */
  taskSupport?: TaskSupport
}

/** A collected tool (what {@link tool} returns and `MCPServer.collect` accepts). */
export interface ToolDefinition {
  readonly name: string
  readonly title: string | undefined
  readonly description: string
  readonly requiredScopes: readonly string[]
  readonly inputSchema: z.ZodRawShape | undefined
  /** The raw JSON Schema of the arguments, and its compiled validator. */
  readonly inputJsonSchema: { schema: JsonObjectSchema; validate: ArgumentsValidator } | undefined
  readonly outputSchema: z.ZodRawShape | undefined
  readonly annotations: ToolAnnotations | undefined
  readonly taskSupport: TaskSupport | undefined
  readonly handler: (
    args: Record<string, unknown>,
    extra: ToolExtra,
  ) => ToolReturn | Promise<ToolReturn>
}

const TOOL_NAME = /^[A-Za-z0-9_.-]{1,128}$/

function snakeCase(name: string): string {
  return name
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1_$2')
    .toLowerCase()
}

/**
 * Define a tool.
 *
 * @example
 * ```ts
 * async function deleteFile({ path }: { path: string }) { return `deleted ${path}` }
 * server.collect(tool({ description: 'Delete file', requiredScopes: ['files:delete'],
 *   inputSchema: { path: z.string() } }, deleteFile))   // name: "delete_file"
 * ```
 */
export function tool<Shape extends z.ZodRawShape | undefined = undefined>(
  options: ToolOptions<Shape>,
  handler: ToolHandler<Shape>,
): ToolDefinition {
  const name = options.name ?? (handler.name ? snakeCase(handler.name) : '')
  if (!TOOL_NAME.test(name)) {
    throw new MCPServerError('ERR_CONFIG', 'A tool needs a name of [A-Za-z0-9_.-]{1,128}')
  }
  if (options.inputSchema && options.inputJsonSchema) {
    throw new MCPServerError(
      'ERR_CONFIG',
      `Tool "${name}": inputSchema or inputJsonSchema, not both`,
    )
  }
  let inputJsonSchema: ToolDefinition['inputJsonSchema']
  if (options.inputJsonSchema) {
    const schema = options.inputJsonSchema
    if (schema.type !== 'object') {
      throw new MCPServerError('ERR_CONFIG', `Tool "${name}": inputJsonSchema needs type "object"`)
    }
    let check: ReturnType<typeof ajv.compile>
    try {
      check = ajv.compile(schema)
    } catch {
      throw new MCPServerError(
        'ERR_CONFIG',
        `Tool "${name}": inputJsonSchema is not a valid schema`,
      )
    }
    inputJsonSchema = {
      schema,
      validate: (args) => (check(args) ? undefined : ajv.errorsText(check.errors)),
    }
  }
  return {
    name,
    title: options.title,
    description: options.description,
    requiredScopes: [...new Set(options.requiredScopes ?? [])],
    inputSchema: options.inputSchema,
    inputJsonSchema,
    outputSchema: options.outputSchema,
    annotations: options.annotations,
    taskSupport: options.taskSupport,
    handler: handler as ToolDefinition['handler'],
  }
}

/** Scopes of `required` that `granted` lacks, in `required` order. */
export function missingScopes(required: readonly string[], granted: readonly string[]): string[] {
  return required.filter((scope) => !granted.includes(scope))
}

// Python's repr() of a str: single quotes unless the text has one and no double quote.
function pythonRepr(text: string): string {
  if (text.includes("'") && !text.includes('"')) return `"${text.replace(/\\/g, '\\\\')}"`
  return `'${text.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`
}

function pythonList(items: readonly string[]): string {
  return `[${items.map(pythonRepr).join(', ')}]`
}

/**
 * The documented refusal text of a tool call without the tool's scopes (ARCHITECTURE.md §4).
 *
 * @example
 * ```ts
 * insufficientScopeText('delete_file', ['files:delete'], ['files:delete'])
 * // Tool "delete_file" requires scopes: ['files:delete']. Missing: ['files:delete']
 * ```
 */
export function insufficientScopeText(
  name: string,
  required: readonly string[],
  missing: readonly string[],
): string {
  return `Tool "${name}" requires scopes: ${pythonList(required)}. Missing: ${pythonList(missing)}`
}

/** The `isError` tool result carrying {@link insufficientScopeText}. */
export function insufficientScopeResult(
  name: string,
  required: readonly string[],
  missing: readonly string[],
): CallToolResult {
  return {
    content: [{ type: 'text', text: insufficientScopeText(name, required, missing) }],
    isError: true,
  }
}

/** Normalise a handler's return value to a `CallToolResult` (an `InputRequiredResult` as is). */
export function toCallToolResult(value: ToolReturn): CallToolResult | InputRequiredResult {
  if (isInputRequiredResult(value)) return value
  if (
    typeof value === 'object' &&
    value !== null &&
    Array.isArray((value as { content?: unknown }).content)
  ) {
    return value as CallToolResult
  }
  if (value === undefined) return { content: [] }
  if (typeof value === 'string') return { content: [{ type: 'text', text: value }] }
  return { content: [{ type: 'text', text: JSON.stringify(value) }] }
}
