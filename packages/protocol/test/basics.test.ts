import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { inspect } from 'node:util'
import fc from 'fast-check'
import { decodeBase64urlBytes, encodeBase64urlBytes } from '../src/encoding/base64urlBytes.ts'
import {
  ACCESS_TOKEN_TYPE,
  AttestationError,
  DAuthError,
  DpopProofError,
  EnvelopeError,
  ReplayStoreError,
  SealedBoxError,
  SecretBytes,
  TOKEN_EXCHANGE_GRANT_TYPE,
  base64url,
} from '../src/index.ts'

describe('base64url', () => {
  it('encodes without padding and decodes', () => {
    assert.equal(base64url.encode(new Uint8Array([251, 255])), '-_8')
    assert.deepEqual(base64url.decode('-_8'), new Uint8Array([251, 255]))
    assert.equal(base64url.encode(new Uint8Array(0)), '')
  })
  it('encodes a subarray view, not its whole buffer', () => {
    const whole = new Uint8Array([1, 2, 3, 4, 5])
    assert.equal(base64url.encode(whole.subarray(1, 3)), Buffer.from([2, 3]).toString('base64url'))
  })
  it('decode refuses padding, other alphabets and impossible lengths', () => {
    for (const bad of ['YQ==', 'a+b/', 'ab c', 'abcde', 'ab\n']) {
      assert.throws(() => base64url.decode(bad), TypeError, bad)
    }
  })
  it('the byte-level codec agrees with Buffer and rejects non-canonical input', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 100 }), (bytes) => {
        const ascii = encodeBase64urlBytes(bytes)
        assert.equal(
          Buffer.from(ascii).toString('latin1'),
          Buffer.from(bytes).toString('base64url'),
        )
        assert.deepEqual(decodeBase64urlBytes(ascii), bytes)
      }),
    )
    const enc = (s: string) => new TextEncoder().encode(s)
    assert.equal(decodeBase64urlBytes(enc('YR')), undefined) // trailing bits set
    assert.equal(decodeBase64urlBytes(enc('YQ==')), undefined)
    assert.equal(decodeBase64urlBytes(enc('Y')), undefined)
    assert.equal(decodeBase64urlBytes(enc('Y+')), undefined)
    assert.deepEqual(decodeBase64urlBytes(enc('YQ')), enc('a'))
  })
})

describe('SecretBytes', () => {
  const CANARY = 'sk_live_CANARY_0123456789'
  it('never shows its bytes', () => {
    const s = new SecretBytes(new TextEncoder().encode(CANARY))
    for (const shown of [
      inspect(s),
      inspect({ nested: { s } }, { depth: 10, showHidden: true }),
      JSON.stringify({ s }),
      String(s),
      // eslint-disable-next-line @typescript-eslint/restrict-template-expressions -- what a template literal shows is under test
      `${s}`,
      s.toString(),
    ]) {
      assert.ok(!shown.includes(CANARY), shown)
      assert.ok(!shown.includes('115, 107'), shown) // no byte dump either
    }
    assert.equal(inspect(s), '[REDACTED]')
    assert.equal(JSON.stringify(s), '"[REDACTED]"')
  })
  it('lends its bytes, and zeroize() overwrites them with zeros', () => {
    const bytes = new TextEncoder().encode(CANARY)
    const s = new SecretBytes(bytes)
    assert.equal(s.length, CANARY.length)
    assert.equal(
      s.use((b) => new TextDecoder().decode(b)),
      CANARY,
    )
    s.zeroize()
    assert.ok(bytes.every((b) => b === 0))
    assert.equal(s.length, 0)
    assert.equal(s.zeroized, true)
    assert.throws(
      () => s.use(() => 1),
      (e: unknown) => e instanceof DAuthError && e.code === 'ERR_SECRET_ZEROIZED',
    )
    s.zeroize()
  })
  it('only holds a Uint8Array', () => {
    assert.throws(() => new SecretBytes('text' as unknown as Uint8Array), TypeError)
  })
})

describe('errors', () => {
  it('have stable codes, names, and extend DAuthError', () => {
    const cases: [DAuthError, string, string][] = [
      [new SealedBoxError(), 'SealedBoxError', 'ERR_SEALED_BOX_OPEN'],
      [new SealedBoxError('ERR_SEALED_BOX_KEY'), 'SealedBoxError', 'ERR_SEALED_BOX_KEY'],
      [new EnvelopeError(), 'EnvelopeError', 'ERR_ENVELOPE_INVALID'],
      [new DpopProofError('ERR_DPOP_REPLAY'), 'DpopProofError', 'ERR_DPOP_REPLAY'],
      [new AttestationError('ERR_ATTESTATION_DEBUG'), 'AttestationError', 'ERR_ATTESTATION_DEBUG'],
      [new ReplayStoreError('ERR_REPLAY_STORE_FULL'), 'ReplayStoreError', 'ERR_REPLAY_STORE_FULL'],
    ]
    for (const [error, name, code] of cases) {
      assert.ok(error instanceof DAuthError)
      assert.ok(error instanceof Error)
      assert.equal(error.name, name)
      assert.equal(error.code, code)
    }
  })
  it('constants', () => {
    assert.equal(TOKEN_EXCHANGE_GRANT_TYPE, 'urn:ietf:params:oauth:grant-type:token-exchange')
    assert.equal(ACCESS_TOKEN_TYPE, 'urn:ietf:params:oauth:token-type:access_token')
  })
})
