// `requestIdFrom` of @dauth/protocol/log: the one check of an incoming X-Request-Id that the AS,
// the enclave launcher and the MCP server share.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { REQUEST_ID_HEADER, requestIdFrom } from '../src/log.ts'

describe('request ids', () => {
  it('keeps a well-formed id and replaces anything else', () => {
    assert.equal(requestIdFrom('abc-DEF_1.2:3'), 'abc-DEF_1.2:3')
    assert.equal(requestIdFrom('x'.repeat(128)), 'x'.repeat(128))
    for (const bad of ['', 'a b', 'x'.repeat(129), 'é', 'a\nb', undefined, null, ['a']]) {
      assert.match(
        requestIdFrom(bad),
        /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
      )
    }
    assert.notEqual(requestIdFrom(''), requestIdFrom(''))
    assert.equal(REQUEST_ID_HEADER, 'x-request-id')
  })
})
