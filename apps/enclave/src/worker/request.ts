/**
 * Strict validation of the `POST /dispatch` body (ARCHITECTURE.md §3, §6):
 * `{handle, request:{method, host?, path, query?, headers?, body?, body_encoding?}}`.
 * Unknown keys are refused; every refusal is `invalid_request` with a log-only reason.
 */
export const ALLOWED_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const
export type UpstreamMethod = (typeof ALLOWED_METHODS)[number]

export interface UpstreamRequestSpec {
  method: UpstreamMethod
  host?: string
  path: string
  query: [string, string][]
  headers: [string, string][]
  body?: Uint8Array
}

export interface DispatchBody {
  handle: string
  request: UpstreamRequestSpec
}

export type ParseResult = { ok: true; value: DispatchBody } | { ok: false; reason: string }

const TOP_KEYS = new Set(['handle', 'request'])
const REQUEST_KEYS = new Set([
  'method',
  'host',
  'path',
  'query',
  'headers',
  'body',
  'body_encoding',
])
// RFC 9110 §5.6.2 token
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/
// Path: starts with one '/', then RFC 3986 pchar / '/' (no '?', '#', '\', spaces or controls).
const PATH = /^\/(?!\/)[A-Za-z0-9\-._~!$&'()*+,;=:@%/]*$/
const HANDLE = /^[A-Za-z0-9._~-]{1,256}$/
const MAX_PATH = 8192
const MAX_HEADERS = 64
const MAX_QUERY = 128

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function fail(reason: string): ParseResult {
  return { ok: false, reason }
}

/** Header values: visible ASCII, SP and HTAB only (no CR, LF, NUL or other controls). */
export function isSafeHeaderValue(value: string): boolean {
  return /^[\t\x20-\x7e]*$/.test(value)
}

export function parseDispatchBody(raw: string): ParseResult {
  let value: unknown
  try {
    value = JSON.parse(raw)
  } catch {
    return fail('body_not_json')
  }
  if (!isPlainObject(value)) return fail('body_not_object')
  for (const key of Object.keys(value)) if (!TOP_KEYS.has(key)) return fail('unknown_key')
  const { handle, request } = value
  if (typeof handle !== 'string' || !HANDLE.test(handle)) return fail('handle')
  if (!isPlainObject(request)) return fail('request_not_object')
  for (const key of Object.keys(request))
    if (!REQUEST_KEYS.has(key)) return fail('unknown_request_key')

  const method = request.method
  if (typeof method !== 'string' || !(ALLOWED_METHODS as readonly string[]).includes(method))
    return fail('method')

  const spec: UpstreamRequestSpec = {
    method: method as UpstreamMethod,
    path: '',
    query: [],
    headers: [],
  }
  if (request.host !== undefined) {
    if (typeof request.host !== 'string' || request.host.length === 0 || request.host.length > 300)
      return fail('host')
    spec.host = request.host
  }

  const path = request.path
  if (typeof path !== 'string' || path.length > MAX_PATH || !PATH.test(path)) return fail('path')
  if (/%(?![0-9A-Fa-f]{2})/.test(path)) return fail('path_percent')
  spec.path = path

  if (request.query !== undefined) {
    if (!isPlainObject(request.query)) return fail('query')
    for (const [name, v] of Object.entries(request.query)) {
      const values = Array.isArray(v) ? v : [v]
      for (const item of values) {
        if (typeof item !== 'string') return fail('query_value')
        spec.query.push([name, item])
      }
    }
    if (spec.query.length > MAX_QUERY) return fail('query_count')
  }

  if (request.headers !== undefined) {
    if (!isPlainObject(request.headers)) return fail('headers')
    const entries = Object.entries(request.headers)
    if (entries.length > MAX_HEADERS) return fail('header_count')
    for (const [name, v] of entries) {
      if (!TOKEN.test(name)) return fail('header_name')
      if (typeof v !== 'string' || !isSafeHeaderValue(v)) return fail('header_value')
      spec.headers.push([name.toLowerCase(), v])
    }
  }

  if (request.body_encoding !== undefined && request.body_encoding !== 'base64')
    return fail('body_encoding')
  if (request.body !== undefined) {
    if (typeof request.body !== 'string') return fail('body')
    if (method === 'GET' || method === 'HEAD') return fail('body_with_get')
    if (request.body_encoding === 'base64') {
      if (!/^[A-Za-z0-9+/]*={0,2}$/.test(request.body)) return fail('body_base64')
      spec.body = new Uint8Array(Buffer.from(request.body, 'base64'))
    } else {
      spec.body = new TextEncoder().encode(request.body)
    }
  } else if (request.body_encoding !== undefined) {
    return fail('body_encoding_without_body')
  }
  return { ok: true, value: { handle, request: spec } }
}
