import { base64url } from '@dauth/protocol'

/** 32 random bytes, base64url: used for `state` and the PKCE verifier (RFC 7636 §4.1: 43 chars). */
export function randomToken(): string {
  return base64url.encode(crypto.getRandomValues(new Uint8Array(32)))
}

/** RFC 7636 §4.2 `S256`: BASE64URL(SHA256(ASCII(code_verifier))). */
export async function pkceChallenge(verifier: string): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier))
  return base64url.encode(new Uint8Array(digest))
}
