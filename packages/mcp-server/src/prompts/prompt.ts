/**
 * Prompt definitions (MCP `prompts/list`, `prompts/get`), collected by `MCPServer.collect`.
 *
 * @module
 */
import {
  completable,
  type GetPromptResult,
  type InputRequiredResult,
} from '@modelcontextprotocol/server'
import type { z } from 'zod'
import { MCPServerError } from '../errors.ts'

// Wraps each completed argument's schema once, at definition time (the SDK marks the schema).
function withCompleters(
  shape: z.ZodRawShape | undefined,
  complete: Record<string, ((value: string) => string[] | Promise<string[]>) | undefined>,
): z.ZodRawShape | undefined {
  if (!shape) return undefined
  return Object.fromEntries(
    Object.entries(shape).map(([name, schema]) => {
      const completer = complete[name]
      return [
        name,
        completer ? completable(schema, (value: unknown) => completer(String(value))) : schema,
      ]
    }),
  )
}

/**
 * What a prompt handler returns: the messages, or `inputRequired(...)` to ask the client for
 * input first (multi-round-trip, 2026-07-28; served to 2025 sessions by the SDK's legacy shim).
 * `getContext()` works inside prompt handlers (`inputResponses`, `requestState()`, …).
 */
export type PromptReturn = GetPromptResult | InputRequiredResult

/** Arguments of a prompt handler for an argument shape. */
export type PromptArgs<Shape extends z.ZodRawShape | undefined> = Shape extends z.ZodRawShape
  ? z.infer<z.ZodObject<Shape>>
  : Record<string, never>

/** Options of {@link prompt}. */
export interface PromptOptions<Shape extends z.ZodRawShape | undefined> {
  name: string
  title?: string
  description?: string
  /** Zod shape of the arguments (strings, as MCP prompt arguments are). */
  argsSchema?: Shape
  /** Completions of argument values (MCP `completion/complete`), by argument name. */
  complete?: { [Name in keyof Shape]?: (value: string) => string[] | Promise<string[]> }
}

/** A collected prompt (what {@link prompt} returns). */
export interface PromptDefinition {
  readonly kind: 'prompt'
  readonly name: string
  readonly title: string | undefined
  readonly description: string | undefined
  readonly argsSchema: z.ZodRawShape | undefined
  readonly handler: (args: Record<string, unknown>) => PromptReturn | Promise<PromptReturn>
}

/**
 * Define a prompt.
 *
 * @example
 * ```ts
 * server.collect(prompt({ name: 'greet', argsSchema: { who: z.string() } }, ({ who }) => ({
 *   messages: [{ role: 'user', content: { type: 'text', text: `Say hello to ${who}` } }],
 * })))
 * ```
 */
export function prompt<Shape extends z.ZodRawShape | undefined = undefined>(
  options: PromptOptions<Shape>,
  handler: (args: PromptArgs<Shape>) => PromptReturn | Promise<PromptReturn>,
): PromptDefinition {
  if (options.name.length === 0 || options.name.length > 128) {
    throw new MCPServerError('ERR_CONFIG', 'A prompt needs a name of 1 to 128 characters')
  }
  return {
    kind: 'prompt',
    name: options.name,
    title: options.title,
    description: options.description,
    argsSchema: withCompleters(options.argsSchema, options.complete ?? {}),
    handler: handler as PromptDefinition['handler'],
  }
}
