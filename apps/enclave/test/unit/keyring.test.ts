import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import { randomBytes } from 'node:crypto'
import {
  BoxKeyCache,
  KeyringError,
  ensureKeyring,
  readKeyring,
  retireBoxKey,
  rotateBoxKeys,
} from '../../src/keys/keyring.ts'
import { AesGcmKeyWrapper, KeyWrapError } from '../../src/keys/keyWrapper.ts'

const dir = mkdtempSync(join(tmpdir(), 'enclave-keyring-'))
after(() => rmSync(dir, { recursive: true, force: true }))

describe('key wrapping', () => {
  it('round-trips and binds the kid as AAD', async () => {
    const w = new AesGcmKeyWrapper(randomBytes(32))
    const wrapped = await w.wrap(new Uint8Array([1, 2, 3]), 'kid-a')
    assert.deepEqual(await w.unwrap(wrapped, 'kid-a'), new Uint8Array([1, 2, 3]))
    await assert.rejects(w.unwrap(wrapped, 'kid-b'), KeyWrapError)
    await assert.rejects(
      new AesGcmKeyWrapper(randomBytes(32)).unwrap(wrapped, 'kid-a'),
      KeyWrapError,
    )
  })
})

describe('keyring rotation', () => {
  const keyDir = join(dir, 'keys')
  const wrapper = new AesGcmKeyWrapper(randomBytes(32))
  it('creates, rotates and retires', async () => {
    const ring = await ensureKeyring(keyDir, wrapper)
    assert.equal(ring.keys.length, 1)
    assert.equal(statSync(join(keyDir, 'keyring.json')).mode & 0o777, 0o600)
    const first = ring.current
    const cache = new BoxKeyCache(keyDir, wrapper)
    await cache.refresh()
    assert.ok(cache.get(first))

    const { kid, previous } = await rotateBoxKeys(keyDir, wrapper)
    assert.equal(previous, first)
    assert.equal(readKeyring(keyDir).current, kid)
    await cache.refresh()
    assert.ok(cache.get(first), 'old kid still opens')
    assert.ok(cache.get(kid))

    assert.throws(
      () => retireBoxKey(keyDir, kid),
      (e: unknown) => e instanceof KeyringError && e.code === 'ERR_KEYRING_CURRENT',
    )
    const oldPair = cache.get(first)
    retireBoxKey(keyDir, first)
    const file = readFileSync(join(keyDir, 'keyring.json'), 'utf8')
    assert.equal(
      JSON.parse(file).keys[0].wrapped_secret_key,
      undefined,
      'retired key material is deleted',
    )
    await cache.refresh()
    assert.equal(cache.get(first), undefined)
    assert.ok(
      oldPair?.secretKey.every((b) => b === 0),
      'retired secret key zeroed in memory',
    )
    assert.throws(
      () => retireBoxKey(keyDir, 'nope'),
      (e: unknown) => e instanceof KeyringError && e.code === 'ERR_KEYRING_UNKNOWN_KID',
    )
  })
  it('refuses a malformed keyring', () => {
    const bad = join(dir, 'bad')
    rmSync(bad, { recursive: true, force: true })
    writeFileSync(join(dir, 'x'), '')
    assert.throws(
      () => readKeyring(bad),
      (e: unknown) => e instanceof KeyringError && e.code === 'ERR_KEYRING_MISSING',
    )
  })
})
