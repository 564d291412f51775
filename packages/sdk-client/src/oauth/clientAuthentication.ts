import { base64url } from '@dauth/protocol'
import { ConfigurationError } from '../errors.ts'

/**
 * How the client authenticates at the token endpoint (RFC 6749 §2.3, RFC 7523 §2.2).
 * `none` is a public client (PKCE only).
 */
export type ClientAuthentication =
  | { readonly method: 'none'; readonly clientId: string }
  | {
      readonly method: 'client_secret_basic'
      readonly clientId: string
      readonly clientSecret: string
    }
  | {
      readonly method: 'client_secret_post'
      readonly clientId: string
      readonly clientSecret: string
    }
  | {
      readonly method: 'private_key_jwt'
      readonly clientId: string
      readonly privateKeyJwk: JsonWebKey & { kid?: string }
    }

/** RFC 6749 §2.3.1: id and secret are form-urlencoded before Basic encoding. */
function formEncode(value: string): string {
  return encodeURIComponent(value).replace(/%20/g, '+')
}

interface SigningAlgorithm {
  readonly alg: string
  readonly importParams: AlgorithmIdentifier | EcKeyImportParams | RsaHashedImportParams
  readonly signParams: AlgorithmIdentifier | EcdsaParams
}

function signingAlgorithm(jwk: JsonWebKey): SigningAlgorithm {
  if (jwk.kty === 'EC' && jwk.crv === 'P-256') {
    return {
      alg: 'ES256',
      importParams: { name: 'ECDSA', namedCurve: 'P-256' },
      signParams: { name: 'ECDSA', hash: 'SHA-256' },
    }
  }
  if (jwk.kty === 'OKP' && jwk.crv === 'Ed25519') {
    return { alg: 'EdDSA', importParams: { name: 'Ed25519' }, signParams: { name: 'Ed25519' } }
  }
  if (jwk.kty === 'RSA') {
    return {
      alg: 'RS256',
      importParams: { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' },
      signParams: { name: 'RSASSA-PKCS1-v1_5' },
    }
  }
  throw new ConfigurationError('privateKeyJwk must be an EC P-256, Ed25519 or RSA private key')
}

const encoder = new TextEncoder()

/**
 * Builds an RFC 7523 client assertion (`private_key_jwt`): `iss` = `sub` = client id,
 * `aud` = the issuer identifier (RFC 7523bis) or the token endpoint, 60 s lifetime.
 */
export async function createClientAssertion(
  clientId: string,
  privateKeyJwk: JsonWebKey & { kid?: string },
  audience: string,
  now: number,
): Promise<string> {
  const algorithm = signingAlgorithm(privateKeyJwk)
  const { kid, alg: _alg, key_ops: _ops, use: _use, ...material } = privateKeyJwk
  const key = await crypto.subtle.importKey('jwk', material, algorithm.importParams, false, [
    'sign',
  ])
  const header = { alg: algorithm.alg, typ: 'JWT', ...(kid !== undefined ? { kid } : {}) }
  const payload = {
    iss: clientId,
    sub: clientId,
    aud: audience,
    jti: base64url.encode(crypto.getRandomValues(new Uint8Array(16))),
    iat: now,
    exp: now + 60,
  }
  const input = `${base64url.encode(encoder.encode(JSON.stringify(header)))}.${base64url.encode(encoder.encode(JSON.stringify(payload)))}`
  const signature = new Uint8Array(
    await crypto.subtle.sign(algorithm.signParams, key, encoder.encode(input)),
  )
  return `${input}.${base64url.encode(signature)}`
}

/** Adds the client authentication to a token request's headers and form body. */
export async function applyClientAuthentication(
  auth: ClientAuthentication,
  headers: Headers,
  body: URLSearchParams,
  audience: string,
  now: number,
): Promise<void> {
  switch (auth.method) {
    case 'none':
      body.set('client_id', auth.clientId)
      return
    case 'client_secret_basic':
      headers.set(
        'authorization',
        `Basic ${btoa(`${formEncode(auth.clientId)}:${formEncode(auth.clientSecret)}`)}`,
      )
      return
    case 'client_secret_post':
      body.set('client_id', auth.clientId)
      body.set('client_secret', auth.clientSecret)
      return
    case 'private_key_jwt':
      body.set('client_id', auth.clientId)
      body.set('client_assertion_type', 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer')
      body.set(
        'client_assertion',
        await createClientAssertion(auth.clientId, auth.privateKeyJwk, audience, now),
      )
      return
  }
}
