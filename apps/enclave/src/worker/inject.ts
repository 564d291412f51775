import type { CredentialInjection } from '@dauth/protocol'

/**
 * Credential injection (ARCHITECTURE.md §2 `inject`):
 * - `bearer`: `Authorization: Bearer <secret>`
 * - `header`: `<name>: <template>` where every `{secret}` in the template is replaced by the
 *   secret (e.g. `{"name":"x-api-key","template":"{secret}"}` or `"template":"Token {secret}"`)
 * - `basic`: `Authorization: Basic base64(<username>:<secret>)` (RFC 7617)
 * - `query`: `?<name>=<secret>` (percent-encoded)
 * The secret must be visible ASCII or space (0x20–0x7E): CR, LF, NUL, other controls and
 * non-ASCII bytes are refused before any header or URL is built.
 */
export const SECRET_PLACEHOLDER = '{secret}'

/** Caller headers that are always dropped: credentials, routing and framing. */
export const DROPPED_CALLER_HEADERS: ReadonlySet<string> = new Set([
  'authorization',
  'proxy-authorization',
  'x-api-key',
  'cookie',
  'host',
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'te',
  'trailer',
  'upgrade',
  'content-length',
  'expect',
  'http2-settings',
  'forwarded',
  'x-forwarded-for',
  'x-forwarded-host',
  'x-forwarded-proto',
])

/** Header names an injection may never use. */
const FORBIDDEN_INJECTION_HEADERS: ReadonlySet<string> = new Set([
  'host',
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'te',
  'trailer',
  'upgrade',
  'content-length',
  'content-type',
  'expect',
  'cookie',
])

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/

export function isInjectableSecret(bytes: Uint8Array): boolean {
  if (bytes.length === 0 || bytes.length > 8192) return false
  for (const b of bytes) if (b < 0x20 || b > 0x7e) return false
  return true
}

export type InjectionPlan =
  | {
      ok: true
      /** the one header name the injection owns, lower-case (undefined for `query`) */
      headerName?: string
      queryName?: string
      build(secret: string): { headers: [string, string][]; query: [string, string][] }
    }
  | { ok: false; reason: string }

/** Validates the plaintext's injection descriptor (no secret involved). */
export function planInjection(inject: CredentialInjection): InjectionPlan {
  switch (inject.type) {
    case 'bearer':
      return {
        ok: true,
        headerName: 'authorization',
        build: (s) => ({ headers: [['authorization', `Bearer ${s}`]], query: [] }),
      }
    case 'basic': {
      const username = inject.username
      if (
        typeof username !== 'string' ||
        username.includes(':') ||
        !/^[\x20-\x7e]*$/.test(username)
      ) {
        return { ok: false, reason: 'inject_basic_username' }
      }
      return {
        ok: true,
        headerName: 'authorization',
        build: (s) => ({
          headers: [
            [
              'authorization',
              `Basic ${Buffer.from(`${username}:${s}`, 'latin1').toString('base64')}`,
            ],
          ],
          query: [],
        }),
      }
    }
    case 'header': {
      const name = typeof inject.name === 'string' ? inject.name.toLowerCase() : ''
      const template = inject.template
      if (!TOKEN.test(name) || FORBIDDEN_INJECTION_HEADERS.has(name))
        return { ok: false, reason: 'inject_header_name' }
      if (
        typeof template !== 'string' ||
        !template.includes(SECRET_PLACEHOLDER) ||
        !/^[\x20-\x7e]*$/.test(template)
      ) {
        return { ok: false, reason: 'inject_header_template' }
      }
      return {
        ok: true,
        headerName: name,
        build: (s) => ({
          headers: [[name, template.split(SECRET_PLACEHOLDER).join(s)]],
          query: [],
        }),
      }
    }
    case 'query': {
      const name = inject.name
      if (typeof name !== 'string' || !/^[A-Za-z0-9._~-]{1,64}$/.test(name))
        return { ok: false, reason: 'inject_query_name' }
      return { ok: true, queryName: name, build: (s) => ({ headers: [], query: [[name, s]] }) }
    }
    default:
      return { ok: false, reason: 'inject_type' }
  }
}
