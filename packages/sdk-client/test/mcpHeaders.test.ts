import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { encodeHeaderValue, toolHeaderMap } from '@dauth/sdk-client'

const schema = (properties: Record<string, unknown>): unknown => ({ type: 'object', properties })

describe('x-mcp-header annotations (SEP-2243)', () => {
  it('maps annotated string, integer and boolean properties and ignores the others', () => {
    const map = toolHeaderMap(
      schema({
        region: { type: 'string', 'x-mcp-header': 'Region' },
        priority: { type: 'integer', 'x-mcp-header': 'Priority' },
        verbose: { type: 'boolean', 'x-mcp-header': 'Verbose' },
        query: { type: 'string' },
      }),
    )
    assert.deepEqual(
      [...(map ?? [])],
      [
        ['region', 'Region'],
        ['priority', 'Priority'],
        ['verbose', 'Verbose'],
      ],
    )
  })

  for (const [what, properties] of [
    ['an empty name', { v: { type: 'string', 'x-mcp-header': '' } }],
    ['a space in the name', { v: { type: 'string', 'x-mcp-header': 'My Region' } }],
    ['a colon in the name', { v: { type: 'string', 'x-mcp-header': 'My:Region' } }],
    ['a non-ASCII name', { v: { type: 'string', 'x-mcp-header': 'Régión' } }],
    ['an object property', { v: { type: 'object', 'x-mcp-header': 'Data' } }],
    ['an array property', { v: { type: 'array', 'x-mcp-header': 'Items' } }],
    ['a number property', { v: { type: 'number', 'x-mcp-header': 'Score' } }],
    [
      'a case-insensitive duplicate',
      {
        a: { type: 'string', 'x-mcp-header': 'MyField' },
        b: { type: 'string', 'x-mcp-header': 'myfield' },
      },
    ],
  ] as const) {
    it(`rejects the whole tool for ${what}`, () => {
      assert.equal(toolHeaderMap(schema(properties)), undefined)
    })
  }

  it('encodes values: numbers and booleans as text, unsafe strings as =?base64?…?=, null omitted', () => {
    assert.equal(encodeHeaderValue('us-west1'), 'us-west1')
    assert.equal(encodeHeaderValue('us west 1'), 'us west 1')
    assert.equal(encodeHeaderValue(''), '')
    assert.equal(encodeHeaderValue(42), '42')
    assert.equal(encodeHeaderValue(false), 'false')
    assert.equal(encodeHeaderValue(' padded '), '=?base64?IHBhZGRlZCA=?=')
    assert.equal(encodeHeaderValue('Hello, 世界'), '=?base64?SGVsbG8sIOS4lueVjA==?=')
    assert.equal(encodeHeaderValue('line1\nline2'), '=?base64?bGluZTEKbGluZTI=?=')
    assert.equal(encodeHeaderValue(null), undefined)
    assert.equal(encodeHeaderValue(undefined), undefined)
    assert.equal(encodeHeaderValue({ a: 1 }), undefined)
  })
})
