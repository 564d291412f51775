import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { parseDispatchBody } from '../../src/worker/request.ts'

const ok = (request: Record<string, unknown>) => JSON.stringify({ handle: 'h_abc', request })

describe('dispatch body validation', () => {
  it('parses a full request', () => {
    const r = parseDispatchBody(
      ok({
        method: 'POST',
        host: 'api.example.com',
        path: '/repos/a/b',
        query: { q: 'x', tag: ['1', '2'] },
        headers: { Accept: 'application/json' },
        body: '{"a":1}',
      }),
    )
    assert.equal(r.ok, true)
    if (!r.ok) return
    assert.deepEqual(r.value.request.query, [
      ['q', 'x'],
      ['tag', '1'],
      ['tag', '2'],
    ])
    assert.deepEqual(r.value.request.headers, [['accept', 'application/json']])
    assert.equal(Buffer.from(r.value.request.body ?? []).toString(), '{"a":1}')
  })

  const bad: [string, string][] = [
    ['not json', 'body_not_json'],
    ['[]', 'body_not_object'],
    [
      JSON.stringify({ handle: 'h', request: { method: 'GET', path: '/' }, extra: 1 }),
      'unknown_key',
    ],
    [JSON.stringify({ handle: 'h/../x', request: { method: 'GET', path: '/' } }), 'handle'],
    [ok({ method: 'GET', path: '/', decrypt: true }), 'unknown_request_key'],
    [ok({ method: 'TRACE', path: '/' }), 'method'],
    [ok({ method: 'get', path: '/' }), 'method'],
    [ok({ method: 'GET', path: '//evil.example/x' }), 'path'],
    [ok({ method: 'GET', path: 'user' }), 'path'],
    [ok({ method: 'GET', path: '/a?b=c' }), 'path'],
    [ok({ method: 'GET', path: '/a#frag' }), 'path'],
    [ok({ method: 'GET', path: '/a b' }), 'path'],
    [ok({ method: 'GET', path: '/a\\b' }), 'path'],
    [ok({ method: 'GET', path: '/%zz' }), 'path_percent'],
    [ok({ method: 'GET', path: '/', headers: { 'x-a': 'v\r\nx-b: injected' } }), 'header_value'],
    [ok({ method: 'GET', path: '/', headers: { 'x-a': 'v\nx' } }), 'header_value'],
    [ok({ method: 'GET', path: '/', headers: { 'x-a': 'v\u0000' } }), 'header_value'],
    [ok({ method: 'GET', path: '/', headers: { 'bad name': 'v' } }), 'header_name'],
    [ok({ method: 'GET', path: '/', query: { q: 1 } }), 'query_value'],
    [ok({ method: 'GET', path: '/', body: 'x' }), 'body_with_get'],
    [ok({ method: 'POST', path: '/', body: 'x', body_encoding: 'hex' }), 'body_encoding'],
    [ok({ method: 'GET', path: '/', host: 5 }), 'host'],
  ]
  for (const [raw, reason] of bad) {
    it(`refuses ${raw.slice(0, 70)} (${reason})`, () => {
      assert.deepEqual(parseDispatchBody(raw), { ok: false, reason })
    })
  }
})
