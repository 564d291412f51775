import assert from 'node:assert/strict'
import { createHash, generateKeyPairSync, sign } from 'node:crypto'
import { describe, it } from 'node:test'
import * as jose from 'jose'
import {
  type AttestationDocument,
  AttestationError,
  type AttestationErrorCode,
  type AttestationPolicy,
  base64url,
  generateBoxKeyPair,
  sha384Base64url,
  signAttestation,
  verifyAttestation,
} from '../src/index.ts'

const NOW = 1_800_000_000
const platform = generateKeyPairSync('ed25519')
const platformJwk: JsonWebKey = platform.publicKey.export({ format: 'jwk' })
const kid = await jose.calculateJwkThumbprint(platformJwk, 'sha256')
const box = generateBoxKeyPair()
const MEASUREMENT = sha384Base64url(new TextEncoder().encode('worker bundle'))
const NONCE = base64url.encode(new Uint8Array(32).fill(7))

const doc: AttestationDocument = {
  v: 1,
  measurement: MEASUREMENT,
  enclave_pk: base64url.encode(box.publicKey),
  kid: 'box-1',
  nonce: NONCE,
  iat: NOW,
  debug: false,
}
const policy: AttestationPolicy = {
  platformJwk,
  measurements: ['other', MEASUREMENT],
  nonce: NONCE,
  now: NOW,
}
const code = (c: AttestationErrorCode) => (error: unknown) =>
  error instanceof AttestationError && error.code === c
const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url')
const header = { alg: 'EdDSA', typ: 'dauth-attestation+jwt', kid }
function craft(
  h: Record<string, unknown>,
  p: Record<string, unknown>,
  key = platform.privateKey,
): string {
  const input = `${b64(h)}.${b64(p)}`
  return `${input}.${sign(null, Buffer.from(input), key).toString('base64url')}`
}

describe('sha384Base64url', () => {
  it('is the base64url SHA-384', () => {
    const bytes = new TextEncoder().encode('abc')
    assert.equal(sha384Base64url(bytes), createHash('sha384').update('abc').digest('base64url'))
    assert.equal(sha384Base64url(bytes).length, 64)
  })
})

describe('signAttestation / verifyAttestation', () => {
  it('signs with a KeyObject; exact header; verifies and returns the enclave key', async () => {
    const jws = await signAttestation(doc, { privateKey: platform.privateKey, kid })
    assert.deepEqual(jose.decodeProtectedHeader(jws), {
      alg: 'EdDSA',
      typ: 'dauth-attestation+jwt',
      kid,
    })
    assert.deepEqual(jose.decodeJwt(jws), { ...doc })
    await jose.compactVerify(jws, await jose.importJWK(platformJwk as jose.JWK, 'EdDSA'))
    const verified = await verifyAttestation(jws, policy)
    assert.deepEqual(verified, { ...doc, enclavePublicKey: box.publicKey })
  })

  it('signs with a WebCrypto CryptoKey', async () => {
    const pair = await crypto.subtle.generateKey({ name: 'Ed25519' }, false, ['sign', 'verify'])
    const jwk = await crypto.subtle.exportKey('jwk', pair.publicKey)
    const jws = await signAttestation(doc, { privateKey: pair.privateKey, kid: 'k' })
    const verified = await verifyAttestation(jws, {
      ...policy,
      platformJwk: { kty: 'OKP', crv: 'Ed25519', x: jwk.x ?? '' },
    })
    assert.equal(verified.kid, 'box-1')
  })

  it('accepts iat at the edges (60 s old, 5 s ahead)', async () => {
    await verifyAttestation(craft(header, { ...doc, iat: NOW - 60 }), policy)
    await verifyAttestation(craft(header, { ...doc, iat: NOW + 5 }), policy)
    await verifyAttestation(craft(header, { ...doc, iat: NOW - 100 }), {
      ...policy,
      maxAgeSeconds: 100,
    })
  })
})

describe('verifyAttestation rejects', () => {
  const other = generateKeyPairSync('ed25519')
  const good = craft(header, { ...doc })
  const [h, p] = good.split('.') as [string, string, string]
  const cases: [string, AttestationErrorCode, () => string, Partial<AttestationPolicy>?][] = [
    ['not a JWS', 'ERR_ATTESTATION_MALFORMED', () => 'abc'],
    [
      'header not JSON',
      'ERR_ATTESTATION_MALFORMED',
      () => `${Buffer.from('{').toString('base64url')}.${p}.AA`,
    ],
    ['typ JWT', 'ERR_ATTESTATION_MALFORMED', () => craft({ ...header, typ: 'JWT' }, { ...doc })],
    ['typ missing', 'ERR_ATTESTATION_MALFORMED', () => craft({ alg: 'EdDSA' }, { ...doc })],
    ['v = 2', 'ERR_ATTESTATION_MALFORMED', () => craft(header, { ...doc, v: 2 })],
    ['iat missing', 'ERR_ATTESTATION_MALFORMED', () => craft(header, { ...doc, iat: undefined })],
    [
      'debug a string',
      'ERR_ATTESTATION_MALFORMED',
      () => craft(header, { ...doc, debug: 'false' }),
    ],
    [
      'enclave_pk of 31 bytes',
      'ERR_ATTESTATION_MALFORMED',
      () => craft(header, { ...doc, enclave_pk: base64url.encode(new Uint8Array(31)) }),
    ],
    [
      'enclave_pk of 33 bytes',
      'ERR_ATTESTATION_MALFORMED',
      () => craft(header, { ...doc, enclave_pk: base64url.encode(new Uint8Array(33)) }),
    ],
    [
      'enclave_pk not base64url',
      'ERR_ATTESTATION_MALFORMED',
      () => craft(header, { ...doc, enclave_pk: `${doc.enclave_pk.slice(0, 42)}=` }),
    ],
    ['alg none', 'ERR_ATTESTATION_SIGNATURE', () => `${b64({ ...header, alg: 'none' })}.${p}.`],
    [
      'alg ES256',
      'ERR_ATTESTATION_SIGNATURE',
      () => `${b64({ ...header, alg: 'ES256' })}.${p}.${'A'.repeat(86)}`,
    ],
    [
      'signed by another platform key',
      'ERR_ATTESTATION_SIGNATURE',
      () => craft(header, { ...doc }, other.privateKey),
    ],
    [
      'enclave_pk swapped after signing',
      'ERR_ATTESTATION_SIGNATURE',
      () =>
        `${h}.${b64({ ...doc, enclave_pk: base64url.encode(generateBoxKeyPair().publicKey) })}.${good.split('.')[2]}`,
    ],
    [
      'a pinned key that is private',
      'ERR_ATTESTATION_SIGNATURE',
      () => good,
      { platformJwk: platform.privateKey.export({ format: 'jwk' }) },
    ],
    [
      'a pinned key that is not Ed25519',
      'ERR_ATTESTATION_SIGNATURE',
      () => good,
      { platformJwk: { kty: 'EC', crv: 'P-256', x: 'a', y: 'b' } },
    ],
    [
      'an unknown measurement',
      'ERR_ATTESTATION_MEASUREMENT',
      () => craft(header, { ...doc, measurement: sha384Base64url(new Uint8Array(1)) }),
    ],
    ['no allowed measurements', 'ERR_ATTESTATION_MEASUREMENT', () => good, { measurements: [] }],
    ['a wrong nonce', 'ERR_ATTESTATION_NONCE', () => good, { nonce: 'another-nonce' }],
    ['stale (61 s)', 'ERR_ATTESTATION_STALE', () => craft(header, { ...doc, iat: NOW - 61 })],
    [
      'from the future (6 s)',
      'ERR_ATTESTATION_STALE',
      () => craft(header, { ...doc, iat: NOW + 6 }),
    ],
    ['debug: true', 'ERR_ATTESTATION_DEBUG', () => craft(header, { ...doc, debug: true })],
  ]
  for (const [label, expected, make, extra] of cases) {
    it(`${label} → ${expected}`, async () => {
      await assert.rejects(verifyAttestation(make(), { ...policy, ...extra }), code(expected))
    })
  }
})
