/**
 * The KeyWrapper seam: the box-key ring is wrapped and (in the worker) unwrapped only through
 * the interface, so a KMS-backed wrapper can replace the dev master-key wrapper.
 */
import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import { base64url, openSealedBox, sealBox } from '@dauth/protocol'
import { BoxKeyCache, ensureKeyring, readKeyring, rotateBoxKeys } from '../../src/keys/keyring.ts'
import { AesGcmKeyWrapper, KeyWrapError, createKeyWrapper } from '../../src/keys/keyWrapper.ts'
import type { KeyWrapper, KeyWrapperConfig, WrappedKey } from '../../src/keys/keyWrapper.ts'
import { masterKeyWrapperConfig } from '../../src/keys/masterKey.ts'

const dir = mkdtempSync(join(tmpdir(), 'enclave-wrapper-'))
after(() => rmSync(dir, { recursive: true, force: true }))

/**
 * Stand-in for a KMS: the "KMS key" never leaves this object; blobs are opaque (`iv` empty),
 * bound to the encryption context, and every call is recorded.
 */
class FakeKmsWrapper implements KeyWrapper {
  readonly id = 'fake-kms'
  readonly calls: { op: 'wrap' | 'unwrap'; context: string }[] = []
  readonly #inner = new AesGcmKeyWrapper(randomBytes(32))
  async wrap(plaintext: Uint8Array, context: string): Promise<WrappedKey> {
    this.calls.push({ op: 'wrap', context })
    const inner = await this.#inner.wrap(plaintext, context)
    return { wrapper: this.id, iv: '', ct: `${inner.iv}.${inner.ct}` }
  }
  async unwrap(wrapped: WrappedKey, context: string): Promise<Uint8Array> {
    this.calls.push({ op: 'unwrap', context })
    if (wrapped.wrapper !== this.id) throw new KeyWrapError()
    const [iv = '', ct = ''] = wrapped.ct.split('.')
    return this.#inner.unwrap({ wrapper: 'A256GCM', iv, ct }, context)
  }
}

describe('KeyWrapper interface', () => {
  it('the keyring is wrapped and unwrapped only through the wrapper, bound to the kid', async () => {
    const keyDir = join(dir, 'kms-keys')
    const kms = new FakeKmsWrapper()
    const first = await ensureKeyring(keyDir, kms)
    const { kid: second } = await rotateBoxKeys(keyDir, kms)
    assert.deepEqual(kms.calls, [
      { op: 'wrap', context: first.current },
      { op: 'wrap', context: second },
    ])
    const stored = readKeyring(keyDir)
    for (const entry of stored.keys) {
      assert.equal(entry.wrapped_secret_key?.wrapper, 'fake-kms')
      assert.equal(entry.wrapped_secret_key?.iv, '')
    }

    kms.calls.length = 0
    const cache = new BoxKeyCache(keyDir, kms)
    await cache.refresh()
    await cache.refresh() // unchanged file: no second round trip to the KMS
    assert.deepEqual(kms.calls.map((c) => c.context).sort(), [first.current, second].sort())
    assert.ok(kms.calls.every((c) => c.op === 'unwrap'))

    // the unwrapped key opens what was sealed to the published public key
    const entry = stored.keys.find((k) => k.kid === second)
    assert.ok(entry)
    const pair = cache.get(second)
    assert.ok(pair)
    const sealed = sealBox(new TextEncoder().encode('hello'), base64url.decode(entry.public_key))
    assert.equal(new TextDecoder().decode(openSealedBox(sealed, pair)), 'hello')
  })

  it('a keyring made by one wrapper does not open with another (no silent fallback)', async () => {
    const keyDir = join(dir, 'mixed-keys')
    await ensureKeyring(keyDir, new FakeKmsWrapper())
    const cache = new BoxKeyCache(keyDir, new AesGcmKeyWrapper(randomBytes(32)))
    await assert.rejects(cache.refresh(), KeyWrapError)
  })
})

describe('createKeyWrapper (what the worker builds from its init message)', () => {
  it('A256GCM: the dev master key from <state>/enclave/master.key, created 0600', async () => {
    const enclaveDir = join(dir, 'enclave')
    const config = masterKeyWrapperConfig(enclaveDir)
    assert.equal(config.type, 'A256GCM')
    assert.equal(statSync(join(enclaveDir, 'master.key')).mode & 0o777, 0o600)
    assert.equal(readFileSync(join(enclaveDir, 'master.key'), 'utf8'), `${config.masterKey}\n`)
    assert.deepEqual(masterKeyWrapperConfig(enclaveDir), config) // stable once created

    const launcherSide = createKeyWrapper(config)
    const workerSide = createKeyWrapper(config)
    const secret = randomBytes(32)
    const wrapped = await launcherSide.wrap(secret, 'x25519-kid')
    assert.equal(wrapped.wrapper, 'A256GCM')
    assert.deepEqual(Buffer.from(await workerSide.unwrap(wrapped, 'x25519-kid')), secret)
    await assert.rejects(workerSide.unwrap(wrapped, 'x25519-other'), KeyWrapError)
    workerSide.destroy?.()
    await assert.rejects(workerSide.unwrap(wrapped, 'x25519-kid'), KeyWrapError)
  })

  it('refuses an unknown wrapper type or a master key of the wrong size', () => {
    const unknown = { type: 'aws-kms', keyId: 'k' } as unknown as KeyWrapperConfig
    assert.throws(() => createKeyWrapper(unknown), KeyWrapError)
    const short = base64url.encode(createHash('sha256').update('x').digest().subarray(0, 16))
    assert.throws(() => createKeyWrapper({ type: 'A256GCM', masterKey: short }), KeyWrapError)
  })
})
