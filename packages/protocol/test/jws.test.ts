import assert from 'node:assert/strict'
import { type KeyObject, constants, generateKeyPairSync, sign } from 'node:crypto'
import { describe, it } from 'node:test'
import { jwsKeyFamily, verifyJwsSignature } from '../src/index.ts'

const input = Buffer.from('eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0', 'ascii')
const pair = (kind: 'P-256' | 'P-384' | 'ed25519' | 'rsa') =>
  kind === 'ed25519'
    ? generateKeyPairSync('ed25519')
    : kind === 'rsa'
      ? generateKeyPairSync('rsa', { modulusLength: 2048 })
      : generateKeyPairSync('ec', { namedCurve: kind })
const p256 = pair('P-256')
const p384 = pair('P-384')
const ed = pair('ed25519')
const rsa = pair('rsa')
const ecSig = (key: KeyObject, hash: string) =>
  sign(hash, input, { key, dsaEncoding: 'ieee-p1363' })

for (const offload of [true, false]) {
  describe(`verifyJwsSignature (RFC 7515 §5.2, RFC 7518 §3, RFC 8037), offload: ${offload}`, () => {
    const check = (alg: string, key: KeyObject, data: Uint8Array, signature: Uint8Array) =>
      verifyJwsSignature(alg, key, data, signature, { offload })

    it('verifies every implemented algorithm with a key of its kind', async () => {
      assert.equal(
        await check('ES256', p256.publicKey, input, ecSig(p256.privateKey, 'sha256')),
        true,
      )
      assert.equal(
        await check('ES384', p384.publicKey, input, ecSig(p384.privateKey, 'sha384')),
        true,
      )
      assert.equal(
        await check('EdDSA', ed.publicKey, input, sign(null, input, ed.privateKey)),
        true,
      )
      assert.equal(
        await check('Ed25519', ed.publicKey, input, sign(null, input, ed.privateKey)),
        true,
      )
      assert.equal(
        await check('RS256', rsa.publicKey, input, sign('sha256', input, rsa.privateKey)),
        true,
      )
      const pss = sign('sha256', input, {
        key: rsa.privateKey,
        padding: constants.RSA_PKCS1_PSS_PADDING,
        saltLength: 32,
      })
      assert.equal(await check('PS256', rsa.publicKey, input, pss), true)
    })

    it('refuses a signature that does not match the input', async () => {
      const sig = ecSig(p256.privateKey, 'sha256')
      const other = Buffer.from(`${input.toString()}x`)
      assert.equal(await check('ES256', p256.publicKey, other, sig), false)
      const flipped = Buffer.from(sig)
      flipped[10] = (flipped[10] ?? 0) ^ 1
      assert.equal(await check('ES256', p256.publicKey, input, flipped), false)
    })

    it('refuses a key of the wrong type or curve for the algorithm (no alg/key confusion)', async () => {
      // ECDSA itself would take any hash with any curve: the curve (and R || S length) is checked.
      assert.equal(
        await check('ES256', p384.publicKey, input, ecSig(p384.privateKey, 'sha256')),
        false,
      )
      assert.equal(
        await check('ES384', p256.publicKey, input, ecSig(p256.privateKey, 'sha384')),
        false,
      )
      assert.equal(
        await check('RS256', p256.publicKey, input, ecSig(p256.privateKey, 'sha256')),
        false,
      )
      assert.equal(
        await check('EdDSA', p256.publicKey, input, ecSig(p256.privateKey, 'sha256')),
        false,
      )
      // A private key object is not a verification key.
      assert.equal(
        await check('ES256', p256.privateKey, input, ecSig(p256.privateKey, 'sha256')),
        false,
      )
    })

    it('refuses DER-encoded ECDSA and any length other than R || S', async () => {
      const der = sign('sha256', input, p256.privateKey)
      assert.notEqual(der.length, 64)
      assert.equal(await check('ES256', p256.publicKey, input, der), false)
      assert.equal(await check('ES256', p256.publicKey, input, Buffer.alloc(0)), false)
    })

    it('never verifies none, symmetric or unknown algorithms', async () => {
      for (const alg of [
        'none',
        'HS256',
        'hs256',
        'es256',
        'ES256K',
        '__proto__',
        'constructor',
        '',
      ]) {
        assert.equal(
          await check(alg, p256.publicKey, input, ecSig(p256.privateKey, 'sha256')),
          false,
          alg,
        )
        assert.equal(jwsKeyFamily(alg), undefined, alg)
      }
      assert.equal(jwsKeyFamily('ES256'), 'ec')
      assert.equal(jwsKeyFamily('EdDSA'), 'okp')
      assert.equal(jwsKeyFamily('PS512'), 'rsa')
    })
  })
}

describe('where verifyJwsSignature runs', () => {
  // Microtasks run before the event loop polls again, so a check on libuv's pool cannot have
  // answered after a few of them; an in-place check has answered already.
  async function answeredWithinMicrotasks(offload: boolean): Promise<boolean> {
    let answered = false
    const pending = verifyJwsSignature(
      'ES256',
      p256.publicKey,
      input,
      ecSig(p256.privateKey, 'sha256'),
      {
        offload,
      },
    ).then((valid) => {
      answered = true
      return valid
    })
    for (let i = 0; i < 5; i++) await Promise.resolve()
    const early = answered
    assert.equal(await pending, true)
    return early
  }

  it('on the thread pool by default, in place with offload: false', async () => {
    assert.equal(await answeredWithinMicrotasks(true), false)
    assert.equal(await answeredWithinMicrotasks(false), true)
  })
})
