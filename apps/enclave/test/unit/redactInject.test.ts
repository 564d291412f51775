import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { isInjectableSecret, planInjection } from '../../src/worker/inject.ts'
import { REDACTED, redactBytes, redactText, secretForms } from '../../src/worker/redact.ts'

const secret = 'tok/en+val=ue"x y'

describe('redaction', () => {
  const forms = secretForms(secret, 'alice')
  const encoded = [
    secret,
    Buffer.from(secret).toString('base64'),
    Buffer.from(secret).toString('base64url'),
    Buffer.from(secret).toString('hex'),
    Buffer.from(secret).toString('hex').toUpperCase(),
    encodeURIComponent(secret),
    JSON.stringify(secret).slice(1, -1),
    Buffer.from(`alice:${secret}`).toString('base64'),
  ]
  for (const form of encoded) {
    it(`redacts ${form}`, () => {
      assert.equal(redactText(`a ${form} b`, forms), `a ${REDACTED} b`)
      assert.equal(redactBytes(Buffer.from(`<${form}>`), forms).toString(), `<${REDACTED}>`)
    })
  }
  it('redacts a JSON body that echoes the secret', () => {
    const body = Buffer.from(JSON.stringify({ headers: { authorization: `Bearer ${secret}` } }))
    assert.equal(
      redactBytes(body, forms).toString(),
      JSON.stringify({ headers: { authorization: `Bearer ${REDACTED}` } }),
    )
  })
})

describe('injection', () => {
  it('refuses credentials with CR, LF, NUL or other controls', () => {
    for (const bad of ['a\rb', 'a\nb', 'a\u0000b', 'a\tb', 'é', '']) {
      assert.equal(isInjectableSecret(new TextEncoder().encode(bad)), false, JSON.stringify(bad))
    }
    assert.equal(isInjectableSecret(new TextEncoder().encode('ghp_abc DEF-123')), true)
  })
  it('builds the four injections', () => {
    const build = (i: Parameters<typeof planInjection>[0]) => {
      const plan = planInjection(i)
      assert.equal(plan.ok, true)
      return plan.ok ? plan.build('S') : undefined
    }
    assert.deepEqual(build({ type: 'bearer' }), {
      headers: [['authorization', 'Bearer S']],
      query: [],
    })
    assert.deepEqual(build({ type: 'basic', username: 'u' }), {
      headers: [['authorization', `Basic ${Buffer.from('u:S').toString('base64')}`]],
      query: [],
    })
    assert.deepEqual(build({ type: 'header', name: 'X-Api-Key', template: 'Token {secret}' }), {
      headers: [['x-api-key', 'Token S']],
      query: [],
    })
    assert.deepEqual(build({ type: 'query', name: 'api_key' }), {
      headers: [],
      query: [['api_key', 'S']],
    })
  })
  it('refuses unusable injection descriptors', () => {
    assert.deepEqual(planInjection({ type: 'header', name: 'host', template: '{secret}' }), {
      ok: false,
      reason: 'inject_header_name',
    })
    assert.deepEqual(planInjection({ type: 'header', name: 'x-key', template: 'no placeholder' }), {
      ok: false,
      reason: 'inject_header_template',
    })
    assert.deepEqual(planInjection({ type: 'basic', username: 'a:b' }), {
      ok: false,
      reason: 'inject_basic_username',
    })
    assert.deepEqual(planInjection({ type: 'query', name: 'a&b' }), {
      ok: false,
      reason: 'inject_query_name',
    })
  })
})
