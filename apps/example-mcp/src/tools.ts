/**
 * The tools of the example server (ARCHITECTURE.md §6): `echo`, `whoami`, `api_request`.
 *
 * @module
 */
import { DispatchError, getContext, type ToolDefinition, tool } from '@dauth/mcp-server'
import { z } from 'zod'

/** `echo` (scope `read`): returns `text`. No I/O, so benchmarks measure authorization alone. */
export const echo: ToolDefinition = tool(
  {
    name: 'echo',
    description: 'Return the given text.',
    requiredScopes: ['read'],
    inputSchema: { text: z.string() },
  },
  ({ text }) => text,
)

function refusal(error: unknown): { content: { type: 'text'; text: string }[]; isError: true } {
  const code = error instanceof DispatchError ? error.code : 'ERR_DISPATCH'
  const status =
    error instanceof DispatchError && error.status !== undefined ? ` (HTTP ${error.status})` : ''
  return { content: [{ type: 'text', text: `Dispatch refused: ${code}${status}` }], isError: true }
}

/** `whoami` (scope `read`): `GET /user` through the connection `demo`; the upstream JSON as text. */
export const whoami: ToolDefinition = tool(
  {
    name: 'whoami',
    description: 'Show the upstream account of the `demo` connection.',
    requiredScopes: ['read'],
  },
  async () => {
    try {
      const answer = await getContext().dispatch('demo', { method: 'GET', path: '/user' })
      return answer.body
    } catch (error) {
      return refusal(error)
    }
  },
)

/** `api_request` (scope `api:call`): dispatch exactly the given request; the enclave's answer as JSON text. */
export const apiRequest: ToolDefinition = tool(
  {
    name: 'api_request',
    description:
      'Call an upstream API through a connection. Returns the enclave answer {status, headers, body} as JSON.',
    requiredScopes: ['api:call'],
    inputSchema: {
      connection: z.string().min(1),
      method: z.string().min(1),
      path: z.string().min(1),
      query: z.record(z.string(), z.union([z.string(), z.array(z.string())])).optional(),
      host: z.string().optional(),
      headers: z.record(z.string(), z.string()).optional(),
      body: z.string().optional(),
    },
  },
  async ({ connection, method, path, query, host, headers, body }) => {
    try {
      const answer = await getContext().dispatch(connection, {
        method,
        path,
        ...(query !== undefined ? { query } : {}),
        ...(host !== undefined ? { host } : {}),
        ...(headers !== undefined ? { headers } : {}),
        ...(body !== undefined ? { body } : {}),
      })
      return JSON.stringify(answer)
    } catch (error) {
      return refusal(error)
    }
  },
)
