import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import sodium from 'libsodium-wrappers'
import {
  type BoxKeyPair,
  SEAL_BYTES,
  SealedBoxError,
  generateBoxKeyPair,
  openSealedBox,
  openSealedBoxPortable,
  sealBox,
  sealBoxPortable,
} from '../src/index.ts'

import { blake2b } from '@noble/hashes/blake2.js'
import nacl from 'tweetnacl'

await sodium.ready
// tweetnacl-sealedbox-js (the library ARCHITECTURE.md names) ships no typings: load it through require.
const tweetnaclSealedbox = createRequire(import.meta.url)('tweetnacl-sealedbox-js') as {
  seal(message: Uint8Array, publicKey: Uint8Array): Uint8Array
  open(sealed: Uint8Array, publicKey: Uint8Array, secretKey: Uint8Array): Uint8Array | null
}
const lowlevel = (
  nacl as unknown as {
    lowlevel: {
      crypto_core_hsalsa20(o: Uint8Array, i: Uint8Array, k: Uint8Array, c: Uint8Array): number
    }
  }
).lowlevel

const hex = (text: string): Uint8Array => new Uint8Array(Buffer.from(text, 'hex'))
const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text)

// Known-answer vector from PyNaCl, tests/data/sealed_box_ref.txt
// (https://github.com/pyca/pynacl/blob/main/tests/data/sealed_box_ref.txt, used by
// tests/test_sealed_box.py::test_sealed_box_decryption): recipient sk, pk, plaintext, ciphertext.
const PYNACL = {
  sk: '77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a',
  pk: '8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a',
  plaintext:
    'be075fc53c81f2d5cf141316ebeb0c7b5228c52a4c62cbd44b66849b64244ffce5ecbaaf33bd751a1ac728d45e6c61296cdc3c01233561f41db66cce314adb310e3be8250c46f06dceea3a7fa1348057e2f6556ad6b1318a024a838f21af1fde048977eb48f59ffd4924ca1c60902e52f0a089bc76897040e082f937763848645e0705',
  ciphertext:
    '199c808806a62c1be56951023ad3396b0ce0ef2c5b9ca688ac96d2d06ca43f65d314400cc9bbefb23dd26f824c9cb553f81e8c894ea9a553f4d777c77b66d5a6925da3f5961c5f7147172db5597ac14210066ee3ee13e6230a9a9610e9cddbf24094f54fbbf6694c08a436cec39ff5a373656d9584f4df9dd8c817e2e597540628d0ee21a6524a3fcf3eabdc0968390bd260a47366ead7f71cc2e774d411d96f3497c7e10291937bc16dc46a111686b85a8c86',
}
const pynaclKeyPair = (): BoxKeyPair => ({ publicKey: hex(PYNACL.pk), secretKey: hex(PYNACL.sk) })

const implementations = [
  { name: 'native (node:crypto + noble)', seal: sealBox, open: openSealedBox },
  { name: 'portable (tweetnacl)', seal: sealBoxPortable, open: openSealedBoxPortable },
] as const

const isOpenError = (error: unknown): boolean =>
  error instanceof SealedBoxError &&
  error.code === 'ERR_SEALED_BOX_OPEN' &&
  error.message === 'Sealed box could not be opened'

describe('generateBoxKeyPair', () => {
  it('returns 32-byte keys whose public key libsodium derives from the secret key', () => {
    const kp = generateBoxKeyPair()
    assert.equal(kp.publicKey.length, 32)
    assert.equal(kp.secretKey.length, 32)
    assert.deepEqual(sodium.crypto_scalarmult_base(kp.secretKey), kp.publicKey)
  })
  it('returns a different key pair each time', () => {
    assert.notDeepEqual(generateBoxKeyPair().secretKey, generateBoxKeyPair().secretKey)
  })
})

for (const impl of implementations) {
  describe(`sealed box, ${impl.name}`, () => {
    it('opens the PyNaCl known-answer vector', () => {
      assert.deepEqual(impl.open(hex(PYNACL.ciphertext), pynaclKeyPair()), hex(PYNACL.plaintext))
    })

    it('seals what libsodium crypto_box_seal_open opens', () => {
      const kp = generateBoxKeyPair()
      const message = utf8('ghp_canary_1234567890')
      const sealed = impl.seal(message, kp.publicKey)
      assert.equal(sealed.length, message.length + SEAL_BYTES)
      assert.deepEqual(sodium.crypto_box_seal_open(sealed, kp.publicKey, kp.secretKey), message)
    })

    it('opens what libsodium crypto_box_seal seals (libsodium key pair)', () => {
      const kp = sodium.crypto_box_keypair()
      const message = utf8('from libsodium')
      const sealed = sodium.crypto_box_seal(message, kp.publicKey)
      assert.deepEqual(
        impl.open(sealed, { publicKey: kp.publicKey, secretKey: kp.privateKey }),
        message,
      )
    })

    it('interoperates with tweetnacl-sealedbox-js both ways', () => {
      const kp = generateBoxKeyPair()
      const message = utf8('to and from tweetnacl-sealedbox-js')
      assert.deepEqual(
        tweetnaclSealedbox.open(impl.seal(message, kp.publicKey), kp.publicKey, kp.secretKey),
        message,
      )
      assert.deepEqual(impl.open(tweetnaclSealedbox.seal(message, kp.publicKey), kp), message)
    })

    it('round-trips the empty message and a 100 KiB message', () => {
      const kp = generateBoxKeyPair()
      assert.deepEqual(impl.open(impl.seal(new Uint8Array(0), kp.publicKey), kp), new Uint8Array(0))
      const big = new Uint8Array(100 * 1024).map((_, i) => i & 0xff)
      assert.deepEqual(impl.open(impl.seal(big, kp.publicKey), kp), big)
    })

    it('uses a fresh ephemeral key for every seal', () => {
      const kp = generateBoxKeyPair()
      const a = impl.seal(utf8('same'), kp.publicKey)
      const b = impl.seal(utf8('same'), kp.publicKey)
      assert.notDeepEqual(a.subarray(0, 32), b.subarray(0, 32))
    })

    describe('rejects with one generic SealedBoxError', () => {
      const kp = generateBoxKeyPair()
      const sealed = impl.seal(utf8('secret value'), kp.publicKey)
      for (const [label, index] of [
        ['epk (first byte)', 0],
        ['epk (last byte)', 31],
        ['tag', 32],
        ['tag (last byte)', 47],
        ['body', 48],
        ['body (last byte)', sealed.length - 1],
      ] as const) {
        it(`flipped byte in ${label}`, () => {
          const tampered = sealed.slice()
          tampered[index] = (tampered[index] ?? 0) ^ 0x01
          assert.throws(() => impl.open(tampered, kp), isOpenError)
        })
      }
      for (const length of [0, 31, 47]) {
        it(`input of ${length} bytes`, () => {
          assert.throws(() => impl.open(sealed.slice(0, length), kp), isOpenError)
        })
      }
      it('truncated by one byte', () => {
        assert.throws(() => impl.open(sealed.slice(0, -1), kp), isOpenError)
      })
      it('wrong key pair', () => {
        assert.throws(() => impl.open(sealed, generateBoxKeyPair()), isOpenError)
      })
      it('right secret key with another public key (nonce mismatch)', () => {
        assert.throws(
          () =>
            impl.open(sealed, {
              publicKey: generateBoxKeyPair().publicKey,
              secretKey: kp.secretKey,
            }),
          isOpenError,
        )
      })
      it('malformed key pair', () => {
        assert.throws(
          () => impl.open(sealed, { publicKey: kp.publicKey, secretKey: new Uint8Array(31) }),
          isOpenError,
        )
      })
      it('low-order ephemeral key (all-zero shared secret), even with a valid tag', () => {
        // epk = 0 is a low-order point: X25519 gives all zeros, so anyone knows the box key.
        // libsodium refuses it; so must we, even though the forged tag below is correct.
        const epk = new Uint8Array(32)
        const k = new Uint8Array(32)
        lowlevel.crypto_core_hsalsa20(
          k,
          new Uint8Array(16),
          new Uint8Array(32),
          utf8('expand 32-byte k'),
        )
        const nonce = blake2b.create({ dkLen: 24 }).update(epk).update(kp.publicKey).digest()
        const forged = new Uint8Array([...epk, ...nacl.secretbox(utf8('forged'), nonce, k)])
        assert.deepEqual(nacl.secretbox.open(forged.subarray(32), nonce, k), utf8('forged'))
        assert.throws(() => impl.open(forged, kp), isOpenError)
      })
    })

    it('refuses to seal to a public key that is not 32 bytes', () => {
      assert.throws(() => impl.seal(utf8('x'), new Uint8Array(31)), { code: 'ERR_SEALED_BOX_KEY' })
    })
  })
}

describe('native and portable implementations agree', () => {
  it('each opens what the other seals, for random messages', () => {
    const kp = generateBoxKeyPair()
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 512 }), (message) => {
        assert.deepEqual(openSealedBoxPortable(sealBox(message, kp.publicKey), kp), message)
        assert.deepEqual(openSealedBox(sealBoxPortable(message, kp.publicKey), kp), message)
      }),
      { numRuns: 100 },
    )
  })

  it('re-imports the secret key when the caller changes it (no stale cached key)', () => {
    const kp = generateBoxKeyPair()
    const other = generateBoxKeyPair()
    const sealedToOther = sealBox(utf8('for other'), other.publicKey)
    assert.deepEqual(openSealedBox(sealBox(utf8('warm'), kp.publicKey), kp), utf8('warm'))
    kp.secretKey.set(other.secretKey)
    kp.publicKey.set(other.publicKey)
    assert.deepEqual(openSealedBox(sealedToOther, kp), utf8('for other'))
  })
})

describe('property: random input never throws anything but SealedBoxError', () => {
  it('openSealedBox and openSealedBoxPortable', () => {
    const kp = generateBoxKeyPair()
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        assert.throws(() => openSealedBox(bytes, kp), isOpenError)
        assert.throws(() => openSealedBoxPortable(bytes, kp), isOpenError)
      }),
      { numRuns: 300 },
    )
  })
})
