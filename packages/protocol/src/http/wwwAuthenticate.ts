/**
 * `WWW-Authenticate` (RFC 9110 §11.6.1) parsing and formatting, for RFC 6750 §3 `Bearer`
 * and RFC 9449 §7.1 `DPoP` challenges.
 *
 *   challenge  = auth-scheme [ 1*SP ( token68 / [ auth-param *( OWS "," OWS auth-param ) ] ) ]
 *   auth-param = token BWS "=" BWS ( token / quoted-string )
 */

/** One authentication challenge. Parameter names are lower-case (they are case-insensitive). */
export interface AuthChallenge {
  /** Auth scheme as sent, e.g. `Bearer`, `DPoP` (compare case-insensitively). */
  scheme: string
  /** Auth parameters, names lower-cased, values unquoted. */
  params: Record<string, string>
  /** The token68 form of credentials-like challenges (e.g. `Negotiate abc==`), if used. */
  token68?: string
}

const TCHAR = /[!#$%&'*+.^_`|~0-9A-Za-z-]/
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/
const TOKEN68 = /^[A-Za-z0-9\-._~+/]+=*$/
// Any octet allowed inside a quoted-string (qdtext / quoted-pair): HTAB, SP, VCHAR, obs-text.
const QUOTABLE = /^[\t\x20-\x7e\x80-\xff]*$/

// What formatWwwAuthenticate writes inside quotes: HTAB, SP and visible ASCII only.
const FORMATTABLE = /^[\t\x20-\x7e]*$/

class Cursor {
  pos = 0
  readonly text: string
  constructor(text: string) {
    this.text = text
  }
  peek(): string | undefined {
    return this.text[this.pos]
  }
  done(): boolean {
    return this.pos >= this.text.length
  }
  skipOws(): void {
    while (this.peek() === ' ' || this.peek() === '\t') this.pos++
  }
  token(): string | undefined {
    const start = this.pos
    while (!this.done() && TCHAR.test(this.text[this.pos] ?? '')) this.pos++
    return this.pos > start ? this.text.slice(start, this.pos) : undefined
  }
  quoted(): string | undefined {
    if (this.peek() !== '"') return undefined
    this.pos++
    let out = ''
    while (!this.done()) {
      const c = this.text[this.pos++] ?? ''
      if (c === '"') return out
      if (c === '\\') {
        const next = this.text[this.pos++]
        if (next === undefined || !QUOTABLE.test(next)) return undefined
        out += next
      } else if (QUOTABLE.test(c)) {
        out += c
      } else {
        return undefined
      }
    }
    return undefined
  }
}

/** Parses `token BWS "=" BWS value` at the cursor; restores it and returns undefined if absent. */
function authParam(c: Cursor): [string, string] | undefined {
  const start = c.pos
  const name = c.token()
  if (name !== undefined) {
    c.skipOws()
    if (c.peek() === '=') {
      c.pos++
      c.skipOws()
      const value = c.peek() === '"' ? c.quoted() : c.token()
      if (value !== undefined) return [name.toLowerCase(), value]
    }
  }
  c.pos = start
  return undefined
}

/** Skips list separators (OWS and empty list elements, RFC 9110 §5.6.1). */
function skipSeparators(c: Cursor): void {
  for (;;) {
    c.skipOws()
    if (c.peek() !== ',') return
    c.pos++
  }
}

/**
 * Parses a `WWW-Authenticate` field value into its challenges (several per header; quoted
 * strings with escapes; token68). Tolerant: on a syntax error it returns the challenges
 * completed before it. A parameter repeated within one challenge keeps its first value.
 *
 * @example
 * ```ts
 * parseWwwAuthenticate('DPoP error="use_dpop_nonce", algs="ES256 EdDSA", Bearer realm="x"')
 * // [{ scheme: 'DPoP', params: { error: 'use_dpop_nonce', algs: 'ES256 EdDSA' } },
 * //  { scheme: 'Bearer', params: { realm: 'x' } }]
 * ```
 */
export function parseWwwAuthenticate(header: string): AuthChallenge[] {
  const challenges: AuthChallenge[] = []
  if (typeof header !== 'string') return challenges
  const c = new Cursor(header)
  for (;;) {
    skipSeparators(c)
    if (c.done()) return challenges
    const scheme = c.token()
    if (scheme === undefined) return challenges
    const challenge: AuthChallenge = { scheme, params: {} }
    const afterScheme = c.pos
    c.skipOws()
    if (c.done() || c.peek() === ',' || c.pos === afterScheme) {
      if (c.pos === afterScheme && !c.done() && c.peek() !== ',') return challenges
      challenges.push(challenge)
      continue
    }
    let param = authParam(c)
    if (param === undefined) {
      // token68, which must then end the challenge
      const start = c.pos
      while (!c.done() && /[A-Za-z0-9\-._~+/]/.test(c.peek() ?? '')) c.pos++
      if (c.pos === start) return challenges
      while (c.peek() === '=') c.pos++
      challenge.token68 = header.slice(start, c.pos)
      c.skipOws()
      if (!c.done() && c.peek() !== ',') return challenges
      challenges.push(challenge)
      continue
    }
    while (param !== undefined) {
      const [name, value] = param
      if (!Object.hasOwn(challenge.params, name)) {
        // defineProperty: a parameter named __proto__ stays an ordinary own member
        Object.defineProperty(challenge.params, name, {
          value,
          enumerable: true,
          writable: true,
          configurable: true,
        })
      }
      c.skipOws()
      if (c.done()) break
      if (c.peek() !== ',') return challenges
      const beforeComma = c.pos
      skipSeparators(c)
      param = authParam(c)
      // not a parameter: the next challenge starts here
      if (param === undefined) c.pos = beforeComma
    }
    challenges.push(challenge)
  }
}

function quote(value: string): string {
  if (!FORMATTABLE.test(value)) {
    throw new TypeError('Challenge parameter values cannot contain control characters')
  }
  return `"${value.replace(/[\\"]/g, (ch) => `\\${ch}`)}"`
}

/**
 * Formats one challenge: `scheme name="value", …` with every value as a quoted-string
 * (backslash and double quote escaped). Throws `TypeError` on a scheme or parameter name
 * that is not a token, or a value with CR, LF or any other control character (no header
 * injection).
 *
 * @example
 * ```ts
 * formatWwwAuthenticate({ scheme: 'Bearer', params: { error: 'insufficient_scope', scope: 'read write' } })
 * // 'Bearer error="insufficient_scope", scope="read write"'
 * ```
 */
export function formatWwwAuthenticate(challenge: AuthChallenge): string {
  if (!TOKEN.test(challenge.scheme)) throw new TypeError('Invalid auth scheme')
  if (challenge.token68 !== undefined) {
    if (!TOKEN68.test(challenge.token68) || Object.keys(challenge.params).length > 0) {
      throw new TypeError('Invalid token68 challenge')
    }
    return `${challenge.scheme} ${challenge.token68}`
  }
  const params = Object.entries(challenge.params).map(([name, value]) => {
    if (!TOKEN.test(name)) throw new TypeError('Invalid auth parameter name')
    if (typeof value !== 'string') throw new TypeError('Invalid auth parameter value')
    return `${name}=${quote(value)}`
  })
  return params.length === 0 ? challenge.scheme : `${challenge.scheme} ${params.join(', ')}`
}
