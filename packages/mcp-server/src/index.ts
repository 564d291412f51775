/**
 * `@dauth/mcp-server` — MCP server SDK: OAuth 2.1 resource server (RFC 9068 JWT access
 * tokens, DPoP RFC 9449), per-tool scopes, protected resource metadata (RFC 9728), and
 * dispatch through the enclave with opaque connection handles.
 *
 * @example
 * ```ts
 * import { MCPServer, tool, getContext } from '@dauth/mcp-server'
 * const server = new MCPServer('github-tools', { resourceUrl: 'http://localhost:4100/mcp' })
 * server.collect(tool({ description: 'Who am I', requiredScopes: ['read'] }, async function whoami() {
 *   return (await getContext().dispatch('github', { method: 'GET', path: '/user' })).body
 * }))
 * await server.serve({ port: 4100 })
 * ```
 *
 * @module
 */
export {
  type AuthFailure,
  type AuthorizeOptions,
  type AuthorizeResult,
  authorizeRequest,
  type DpopPolicy,
  scopesOf,
} from './authorization/authorize.ts'
export {
  authFailureResponse,
  type ChallengeContext,
  type HttpAnswer,
} from './authorization/challenge.ts'
export {
  type AuthorizationServerMetadata,
  discoverAuthorizationServer,
  getAuthorizationServerMetadataUrl,
} from './authorization/discovery.ts'
export {
  type AuthorizationProvider,
  DEFAULT_TOKEN_ALGORITHMS,
  JWTValidator,
  type JWTValidatorOptions,
  MultiIssuerValidator,
  type TokenFailureReason,
  type TokenVerification,
  type VerifiedClaims,
} from './authorization/jwt.ts'
export {
  type DpopNonceSource,
  HmacDpopNonceSource,
  type HmacDpopNonceOptions,
} from './authorization/nonce.ts'
export type { HeadersLike, RequestLike } from './authorization/request.ts'
/**
 * Multi-round-trip input (2026-07-28; the SDK's legacy shim serves the same handlers to 2025
 * sessions): return `inputRequired({ inputRequests, requestState? })` from a tool, prompt or
 * resource handler; read the answers with `acceptedContent` / `inputResponse` on
 * `getContext().inputResponses`. Re-exported from the official SDK.
 */
export {
  acceptedContent,
  type ClientCapabilities,
  type InputRequests,
  type InputRequiredResult,
  inputRequired,
  inputResponse,
  ProtocolError,
  ProtocolErrorCode,
  type ServerContext,
} from '@modelcontextprotocol/server'
export { type AuthContext, getContext, type ToolContext } from './context.ts'
export {
  DispatchClient,
  type DispatchOptions,
  type DispatchRequest,
  type DispatchResponse,
  type DispatchSubject,
} from './dispatch/client.ts'
export {
  DispatchError,
  type DispatchErrorCode,
  MCPServerError,
  type MCPServerErrorCode,
} from './errors.ts'
export {
  buildProtectedResourceMetadata,
  getProtectedResourceMetadataUrl,
  PROTECTED_RESOURCE_METADATA_PATH,
  type ProtectedResourceMetadata,
} from './metadata/prm.ts'
export {
  AUTH_FAILURE_REASONS,
  type AuthFailureEvent,
  type AuthFailureReason,
  DISPATCH_FAILURE_CODES,
  type DispatchEvent,
  type DispatchFailureCode,
  type MCPServerObserver,
  REQUEST_OUTCOMES,
  type RequestEvent,
  type RequestOutcome,
  TOOL_CALL_OUTCOMES,
  type ToolCallEvent,
  type ToolCallOutcome,
} from './observability/observer.ts'
export { currentRequestId, REQUEST_ID_HEADER } from './observability/requestId.ts'
export {
  type PromptArgs,
  type PromptDefinition,
  type PromptOptions,
  type PromptReturn,
  prompt,
} from './prompts/prompt.ts'
export {
  type ResourceDefinition,
  type ResourceMetadata,
  type ResourceReader,
  type ResourceTemplateDefinition,
  type ResourceTemplateReader,
  resource,
  type ResourceReturn,
  resourceTemplate,
  type VariableCompleter,
} from './resources/resource.ts'
export {
  type AuthorizationOptions,
  type Collectable,
  MCPServer,
  type MCPServerOptions,
  type RunningServer,
  type ServeOptions,
  type SessionOptions,
  type TasksOptions,
} from './server.ts'
/**
 * Tasks extension (`io.modelcontextprotocol/tasks`, SEP-2663): tools with `taskSupport`
 * return `runAsTask(work)`; a `ProtocolError` thrown by the work fails the task.
 */
export {
  MemoryTaskStore,
  type MemoryTaskStoreOptions,
  type TaskError,
  type TaskRecord,
  type TaskStatus,
  type TaskStore,
} from './tasks/store.ts'
export {
  isTaskWork,
  type RunAsTaskOptions,
  runAsTask,
  TASKS_EXTENSION_ID,
  type TaskSupport,
  type TaskWork,
} from './tasks/task.ts'
export type { TransportSecurityOptions } from './transport/security.ts'
export {
  insufficientScopeText,
  type ToolArgs,
  type ToolDefinition,
  type ToolExtra,
  type ToolHandler,
  type ToolOptions,
  type ToolReturn,
  tool,
} from './tools/tool.ts'
