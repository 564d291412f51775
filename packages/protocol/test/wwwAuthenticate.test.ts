import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import { formatWwwAuthenticate, parseWwwAuthenticate } from '../src/index.ts'

describe('parseWwwAuthenticate', () => {
  it('parses an RFC 6750 Bearer challenge', () => {
    assert.deepEqual(
      parseWwwAuthenticate(
        'Bearer realm="example", error="invalid_token", error_description="The access token expired"',
      ),
      [
        {
          scheme: 'Bearer',
          params: {
            realm: 'example',
            error: 'invalid_token',
            error_description: 'The access token expired',
          },
        },
      ],
    )
  })
  it('parses several challenges in one header (RFC 9449 §7.1 style)', () => {
    assert.deepEqual(
      parseWwwAuthenticate(
        'DPoP error="invalid_dpop_proof", algs="ES256 EdDSA", Bearer resource_metadata="http://localhost:4100/.well-known/oauth-protected-resource/mcp", scope="read"',
      ),
      [
        { scheme: 'DPoP', params: { error: 'invalid_dpop_proof', algs: 'ES256 EdDSA' } },
        {
          scheme: 'Bearer',
          params: {
            resource_metadata: 'http://localhost:4100/.well-known/oauth-protected-resource/mcp',
            scope: 'read',
          },
        },
      ],
    )
  })
  it('handles quoted-pair escapes, commas and equals signs inside quotes', () => {
    assert.deepEqual(
      parseWwwAuthenticate('Bearer error_description="a \\"quoted\\", b=c \\\\ d", realm=tok'),
      [{ scheme: 'Bearer', params: { error_description: 'a "quoted", b=c \\ d', realm: 'tok' } }],
    )
  })
  it('accepts bare schemes, token values, BWS around "=", empty list elements, and lower-cases names', () => {
    assert.deepEqual(parseWwwAuthenticate(' , Basic ,  Bearer Realm = x ,, Error="e" ,DPoP'), [
      { scheme: 'Basic', params: {} },
      { scheme: 'Bearer', params: { realm: 'x', error: 'e' } },
      { scheme: 'DPoP', params: {} },
    ])
  })
  it('parses token68', () => {
    assert.deepEqual(parseWwwAuthenticate('Negotiate YWJj+/d==, Bearer realm="r"'), [
      { scheme: 'Negotiate', params: {}, token68: 'YWJj+/d==' },
      { scheme: 'Bearer', params: { realm: 'r' } },
    ])
  })
  it('keeps a parameter named __proto__ as a plain member', () => {
    const [challenge] = parseWwwAuthenticate('Bearer __proto__="x", realm="r"')
    assert.equal(Object.getPrototypeOf(challenge?.params), Object.prototype)
    assert.deepEqual(Object.entries(challenge?.params ?? {}), [
      ['__proto__', 'x'],
      ['realm', 'r'],
    ])
  })
  it('keeps the first value of a repeated parameter', () => {
    assert.deepEqual(parseWwwAuthenticate('Bearer error="a", error="b"'), [
      { scheme: 'Bearer', params: { error: 'a' } },
    ])
  })
  it('stops at a syntax error, keeping the challenges before it', () => {
    assert.deepEqual(parseWwwAuthenticate('Bearer realm="ok", DPoP error="unterminated'), [
      { scheme: 'Bearer', params: { realm: 'ok' } },
    ])
    assert.deepEqual(parseWwwAuthenticate('Bearer realm="a" error="b"'), [])
    assert.deepEqual(parseWwwAuthenticate(''), [])
    assert.deepEqual(parseWwwAuthenticate('"quoted"'), [])
  })
  it('never throws on random input', () => {
    fc.assert(
      fc.property(fc.string(), (s) => {
        assert.ok(Array.isArray(parseWwwAuthenticate(s)))
      }),
      { numRuns: 500 },
    )
  })
})

describe('formatWwwAuthenticate', () => {
  it('quotes every value and separates with ", "', () => {
    assert.equal(
      formatWwwAuthenticate({
        scheme: 'DPoP',
        params: { error: 'invalid_dpop_proof', algs: 'ES256 EdDSA' },
      }),
      'DPoP error="invalid_dpop_proof", algs="ES256 EdDSA"',
    )
    assert.equal(formatWwwAuthenticate({ scheme: 'Bearer', params: {} }), 'Bearer')
    assert.equal(
      formatWwwAuthenticate({ scheme: 'Negotiate', params: {}, token68: 'abc==' }),
      'Negotiate abc==',
    )
  })
  it('escapes quotes and backslashes so a value cannot break out', () => {
    const header = formatWwwAuthenticate({
      scheme: 'Bearer',
      params: { error_description: 'x", scope="admin \\' },
    })
    assert.equal(header, 'Bearer error_description="x\\", scope=\\"admin \\\\"')
    assert.deepEqual(parseWwwAuthenticate(header), [
      { scheme: 'Bearer', params: { error_description: 'x", scope="admin \\' } },
    ])
  })
  it('refuses CR, LF, NUL and non-ASCII in values, and non-token names or schemes', () => {
    for (const value of ['a\r\nSet-Cookie: x=y', 'a\nb', 'a\0b', 'é']) {
      assert.throws(
        () => formatWwwAuthenticate({ scheme: 'Bearer', params: { error_description: value } }),
        TypeError,
      )
    }
    assert.throws(
      () => formatWwwAuthenticate({ scheme: 'Bearer', params: { 'bad name': 'x' } }),
      TypeError,
    )
    assert.throws(() => formatWwwAuthenticate({ scheme: 'Bea rer', params: {} }), TypeError)
    assert.throws(() => formatWwwAuthenticate({ scheme: 'Bearer\r\n', params: {} }), TypeError)
    assert.throws(
      () => formatWwwAuthenticate({ scheme: 'N', params: {}, token68: 'a b' }),
      TypeError,
    )
  })
  it('round-trips through the parser (property)', () => {
    const name = fc.stringMatching(/^[a-z_][a-z0-9_]{0,10}$/)
    const value = fc.stringMatching(/^[\t\x20-\x7e]{0,30}$/)
    fc.assert(
      fc.property(fc.dictionary(name, value, { maxKeys: 5 }), (params) => {
        const challenge = { scheme: 'DPoP', params: Object.fromEntries(Object.entries(params)) }
        assert.deepEqual(parseWwwAuthenticate(formatWwwAuthenticate(challenge)), [challenge])
      }),
      { numRuns: 300 },
    )
  })
})
