import { test } from 'node:test'
import assert from 'node:assert/strict'
import { base64url } from '@dauth/protocol'
test('workspace import', () => {
  assert.equal(base64url.encode(new Uint8Array([255, 254])), '__4')
})
