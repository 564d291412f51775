/**
 * @dauth/sdk-client — the client SDK of the DAuth reference stack (ARCHITECTURE.md §5).
 * Uses only fetch and WebCrypto; Node-only helpers live in `@dauth/sdk-client/node`.
 */
export { authFetch, type AuthFetchOptions } from './auth/authFetch.ts'
export {
  AuthorizationCodeAuth,
  checkAuthorizationResponse,
  type AuthorizationCodeAuthOptions,
  type RedirectReceiver,
} from './auth/authorizationCode.ts'
export {
  ClientCredentialsAuth,
  type ClientCredentialsAuthOptions,
} from './auth/clientCredentials.ts'
export type { TokenGrantOptions } from './auth/session.ts'
export {
  JWT_BEARER_GRANT_TYPE,
  JwtBearerAuth,
  type AssertionTarget,
  type JwtBearerAuthOptions,
} from './auth/jwtBearer.ts'
export {
  ID_JAG_TOKEN_TYPE,
  requestIdJag,
  type RequestIdJagOptions,
} from './oauth/tokenExchange.ts'
export {
  BearerAuth,
  DPoPAuth,
  type AccessTokenSource,
  type DPoPAuthOptions,
} from './auth/static.ts'
export type { AccessToken, ClientAuth, DiscoveredAuthorization } from './auth/types.ts'
export {
  DAuthConnections,
  type AttestationTrust,
  type ConnectionInfo,
  type CreateConnectionInput,
  type CreatedConnection,
  type DAuthConnectionsOptions,
} from './connections/connections.ts'
export {
  discoverAuthorizationServerMetadata,
  getAuthorizationServerMetadataUrls,
  type AuthorizationServerMetadata,
} from './discovery/authorizationServer.ts'
export {
  checkResourceAllowed,
  discoverProtectedResourceMetadata,
  getProtectedResourceMetadataUrls,
  parseResourceChallenge,
  type ProtectedResourceDiscoveryOptions,
  type ProtectedResourceMetadata,
  type ResourceChallenge,
} from './discovery/protectedResource.ts'
export { DpopNonceCache } from './dpop/nonces.ts'
export {
  AttestationRefusedError,
  AuthorizationResponseError,
  AuthorizationServerError,
  ConfigurationError,
  DAUTH_CLIENT_ERROR_CODES,
  DAuthClientError,
  DiscoveryError,
  HttpStatusError,
  InsufficientScopeError,
  InvalidResponseError,
  IssuerMismatchError,
  McpRequestError,
  ResourceMismatchError,
  UnauthorizedError,
  type AuthorizationResponseReason,
  type DAuthClientErrorCode,
} from './errors.ts'
export type { FetchLike } from './internal/http.ts'
export {
  applyElicitationDefaults,
  MCPClient,
  parseMissingScopes,
  type ElicitationHandler,
  type ElicitationRequest,
  type RootsProvider,
  type SamplingHandler,
  type SamplingRequest,
  type MCPClientOptions,
} from './mcp/client.ts'
export { encodeHeaderValue, toolHeaderMap, type ToolHeaderMap } from './mcp/headers.ts'
export { STATELESS_PROTOCOL_VERSIONS } from './mcp/stateless.ts'
export { toOAuthClientProvider } from './mcp/oauthProvider.ts'
export {
  registerClient,
  type ClientMetadata,
  type RegisterClientOptions,
  type RegisteredClient,
} from './oauth/registration.ts'
export {
  MemoryTokenStore,
  type StoredTokens,
  type TokenStore,
  type TokenStoreKey,
} from './tokens/store.ts'
