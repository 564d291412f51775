import type { DpopKeyPair } from '@dauth/protocol'
import type { DpopNonceCache } from '../dpop/nonces.ts'
import type { AuthorizationServerMetadata } from '../discovery/authorizationServer.ts'

/** An access token and the scheme it is presented with (RFC 6750 `Bearer` or RFC 9449 `DPoP`). */
export interface AccessToken {
  readonly value: string
  readonly type: 'Bearer' | 'DPoP'
}

/** What resource discovery learned, handed to an auth that was configured without it. */
export interface DiscoveredAuthorization {
  /** Canonical resource URL from the protected resource metadata (RFC 9728 `resource`). */
  readonly resource: string
  /** The PRM `authorization_servers`, in the server's order. */
  readonly authorizationServers: readonly string[]
  /** Scopes to request: the challenge's `scope`, else the PRM `scopes_supported`. */
  readonly scopes: readonly string[]
  /** Fetches an issuer's metadata in the MCP spec order (RFC 8414, then OIDC discovery). */
  metadataFor(issuer: string): Promise<AuthorizationServerMetadata>
}

/**
 * How a request is authenticated. Built by {@link BearerAuth}, {@link DPoPAuth},
 * {@link ClientCredentialsAuth} or {@link AuthorizationCodeAuth}; consumed by
 * {@link authFetch} and {@link MCPClient}.
 */
export interface ClientAuth {
  /** Current access token, obtaining or refreshing it when needed; `undefined` when none yet. */
  getAccessToken(): Promise<AccessToken | undefined>
  /** The DPoP key proofs are signed with, or `undefined` for bearer tokens. */
  getDpopKey(): Promise<DpopKeyPair | undefined>
  /** Server-provided DPoP nonces per origin (shared by the AS and resource requests). */
  readonly nonces: DpopNonceCache
  /** Drops the cached access token after a 401; `true` when a different token may be obtained. */
  invalidate(): Promise<boolean>
  /** Step-up (MCP authorization, "Step-Up Authorization Flow"): obtain a token for the union of current and `required` scopes; `false` when impossible. */
  stepUp(required: readonly string[]): Promise<boolean>
  /** `true` while the auth lacks an issuer or resource that discovery must supply. */
  needsDiscovery(): boolean
  /** Applies what discovery learned (only called when {@link ClientAuth.needsDiscovery} is true). */
  applyDiscovery(discovered: DiscoveredAuthorization): Promise<void>
}
