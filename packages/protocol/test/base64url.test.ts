import assert from 'node:assert/strict'
import { test } from 'node:test'
import { base64url } from '../src/index.ts'

test('base64url encodes without padding in the URL-safe alphabet (RFC 4648 §5)', () => {
  assert.equal(base64url.encode(new Uint8Array([0xfb, 0xff, 0xbf])), '-_-_')
  assert.equal(base64url.encode(new Uint8Array([0x66, 0x6f])), 'Zm8')
  assert.deepEqual(base64url.decode('-_-_'), new Uint8Array([0xfb, 0xff, 0xbf]))
})
