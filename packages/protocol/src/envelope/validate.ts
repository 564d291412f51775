import { isBase64url } from '../encoding/base64url.ts'
import { EnvelopeError } from '../errors.ts'
import { SEAL_BYTES } from '../sealedBox/constants.ts'
import {
  type CredentialBinding,
  type CredentialEnvelope,
  type CredentialInjection,
  ENVELOPE_ALG,
} from './types.ts'

/** Largest accepted sealed box (credentials are small; this bounds work on hostile input). */
export const MAX_ENVELOPE_CT_BYTES = 64 * 1024
const MAX_CT_CHARS = Math.ceil((MAX_ENVELOPE_CT_BYTES * 4) / 3)
const MIN_CT_CHARS = Math.ceil(((SEAL_BYTES + 1) * 4) / 3)
const KID = /^[\x21-\x7e]{1,128}$/
const PROVIDER = /^[a-z0-9][a-z0-9._-]{0,62}$/
// RFC 9110 §5.6.2 token: an HTTP field name.
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,256}$/
const HOST_FORBIDDEN = /[\s/\\@?#]/

type Json = Record<string, unknown>

/** No control characters at all (CR/LF/NUL would split or truncate headers). */
function hasControl(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i)
    if (c < 0x20 || c === 0x7f) return true
  }
  return false
}

function fail(): never {
  throw new EnvelopeError()
}

/** A plain JSON object (not an array, not a class instance) with exactly `keys`. */
function exactObject(value: unknown, keys: readonly string[]): Json {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) fail()
  const proto = Object.getPrototypeOf(value) as unknown
  if (proto !== Object.prototype && proto !== null) fail()
  const own = Object.keys(value)
  if (own.length !== keys.length || !keys.every((k) => Object.hasOwn(value, k))) fail()
  return value as Json
}

function boundedString(value: unknown, max: number): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > max || hasControl(value))
    fail()
  return value
}

/**
 * Validates the outer envelope strictly: a plain object with exactly `v`, `kid`, `alg`, `ct`;
 * `v === 1`; `kid` 1..128 visible ASCII characters; `alg` exactly {@link ENVELOPE_ALG};
 * `ct` strict unpadded base64url of 49 bytes (48 bytes overhead + at least one byte) up to
 * 64 KiB. Returns a fresh object with only those members.
 * Throws {@link EnvelopeError} (`ERR_ENVELOPE_INVALID`) otherwise.
 *
 * @example
 * ```ts
 * const envelope = parseCredentialEnvelope(JSON.parse(body).envelope)
 * ```
 */
export function parseCredentialEnvelope(value: unknown): CredentialEnvelope {
  const o = exactObject(value, ['v', 'kid', 'alg', 'ct'])
  if (o.v !== 1 || o.alg !== ENVELOPE_ALG) fail()
  if (typeof o.kid !== 'string' || !KID.test(o.kid)) fail()
  const ct = o.ct
  if (!isBase64url(ct) || ct.length < MIN_CT_CHARS || ct.length > MAX_CT_CHARS) fail()
  return { v: 1, kid: o.kid, alg: ENVELOPE_ALG, ct }
}

function parseInjection(value: unknown): CredentialInjection {
  if (typeof value !== 'object' || value === null) fail()
  switch ((value as Json).type) {
    case 'bearer':
      exactObject(value, ['type'])
      return { type: 'bearer' }
    case 'header': {
      const o = exactObject(value, ['type', 'name', 'template'])
      if (typeof o.name !== 'string' || !TOKEN.test(o.name)) fail()
      return { type: 'header', name: o.name, template: boundedString(o.template, 1024) }
    }
    case 'basic': {
      const o = exactObject(value, ['type', 'username'])
      // RFC 7617 §2: the user-id cannot contain a colon.
      if (typeof o.username !== 'string' || o.username.includes(':') || hasControl(o.username))
        fail()
      if (o.username.length > 256) fail()
      return { type: 'basic', username: o.username }
    }
    case 'query': {
      const o = exactObject(value, ['type', 'name'])
      return { type: 'query', name: boundedString(o.name, 256) }
    }
    default:
      return fail()
  }
}

/**
 * Validates a credential binding (the plaintext without `secret`) strictly and returns a
 * fresh copy with only the known members. `extraKeys` lists members allowed besides the
 * binding's own (the plaintext parser passes `['secret']`).
 * Throws {@link EnvelopeError} on any deviation.
 *
 * @example
 * ```ts
 * const binding = parseCredentialBinding({ v: 1, connection_id, upload_nonce, owner, provider,
 *   allowed_hosts: ['api.github.com'], inject: { type: 'bearer' } })
 * ```
 */
export function parseCredentialBinding(
  value: unknown,
  extraKeys: readonly string[] = [],
): CredentialBinding {
  const o = exactObject(value, [
    'v',
    'connection_id',
    'upload_nonce',
    'owner',
    'provider',
    'allowed_hosts',
    'inject',
    ...extraKeys,
  ])
  if (o.v !== 1) fail()
  const owner = exactObject(o.owner, ['iss', 'sub'])
  if (typeof o.provider !== 'string' || !PROVIDER.test(o.provider)) fail()
  const hosts = o.allowed_hosts
  if (!Array.isArray(hosts) || hosts.length === 0 || hosts.length > 64) fail()
  const allowedHosts = hosts.map((h: unknown) => {
    if (
      typeof h !== 'string' ||
      h.length === 0 ||
      h.length > 261 ||
      hasControl(h) ||
      HOST_FORBIDDEN.test(h)
    )
      fail()
    return h
  })
  return {
    v: 1,
    connection_id: boundedString(o.connection_id, 256),
    upload_nonce: boundedString(o.upload_nonce, 256),
    owner: { iss: boundedString(owner.iss, 2048), sub: boundedString(owner.sub, 1024) },
    provider: o.provider,
    allowed_hosts: allowedHosts,
    inject: parseInjection(o.inject),
  }
}
