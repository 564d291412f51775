/**
 * Resource and resource-template definitions (MCP `resources/list`, `resources/read`,
 * `resources/templates/list`), collected by `MCPServer.collect`.
 *
 * @module
 */
import type { InputRequiredResult, ReadResourceResult } from '@modelcontextprotocol/server'
import { MCPServerError } from '../errors.ts'

/** Metadata shared by resources and templates. */
export interface ResourceMetadata {
  title?: string
  description?: string
  mimeType?: string
}

/** Reads a fixed resource. */
/**
 * What a reader returns: the contents, or `inputRequired(...)` to ask the client for input first
 * (multi-round-trip, 2026-07-28; served to 2025 sessions by the SDK's legacy shim).
 */
export type ResourceReturn = ReadResourceResult | InputRequiredResult

export type ResourceReader = (uri: URL) => ResourceReturn | Promise<ResourceReturn>

/** Reads a resource matched by a URI template, with the template's variables. */
export type ResourceTemplateReader = (
  uri: URL,
  variables: Record<string, string | string[]>,
) => ResourceReturn | Promise<ResourceReturn>

/** Completes the value of one template variable (MCP `completion/complete`). */
export type VariableCompleter = (value: string) => string[] | Promise<string[]>

/** A collected fixed-URI resource (what {@link resource} returns). */
export interface ResourceDefinition {
  readonly kind: 'resource'
  readonly name: string
  readonly uri: string
  readonly metadata: ResourceMetadata
  readonly read: ResourceReader
}

/** A collected resource template (what {@link resourceTemplate} returns). */
export interface ResourceTemplateDefinition {
  readonly kind: 'resource-template'
  readonly name: string
  readonly uriTemplate: string
  readonly metadata: ResourceMetadata
  readonly complete: Readonly<Record<string, VariableCompleter>>
  readonly read: ResourceTemplateReader
}

function checkName(name: string, what: string): void {
  if (name.length === 0 || name.length > 128) {
    throw new MCPServerError('ERR_CONFIG', `A ${what} needs a name of 1 to 128 characters`)
  }
}

/**
 * Define a resource with a fixed URI.
 *
 * @example
 * ```ts
 * server.collect(resource({ name: 'readme', uri: 'file:///readme', mimeType: 'text/plain' },
 *   (uri) => ({ contents: [{ uri: uri.href, text: 'Hello' }] })))
 * ```
 */
export function resource(
  options: { name: string; uri: string } & ResourceMetadata,
  read: ResourceReader,
): ResourceDefinition {
  const { name, uri, ...metadata } = options
  checkName(name, 'resource')
  try {
    new URL(uri)
  } catch {
    throw new MCPServerError('ERR_CONFIG', `Resource "${name}" needs an absolute URI`)
  }
  return { kind: 'resource', name, uri, metadata, read }
}

/**
 * Define a resource template (RFC 6570 URI template); `complete` offers completions of its
 * variables through `completion/complete`.
 *
 * @example
 * ```ts
 * server.collect(resourceTemplate({ name: 'user', uriTemplate: 'users://{id}/profile' },
 *   (uri, { id }) => ({ contents: [{ uri: uri.href, text: `user ${String(id)}` }] })))
 * ```
 */
export function resourceTemplate(
  options: {
    name: string
    uriTemplate: string
    complete?: Record<string, VariableCompleter>
  } & ResourceMetadata,
  read: ResourceTemplateReader,
): ResourceTemplateDefinition {
  const { name, uriTemplate, complete, ...metadata } = options
  checkName(name, 'resource template')
  return { kind: 'resource-template', name, uriTemplate, metadata, complete: complete ?? {}, read }
}
