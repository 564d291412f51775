import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { inspect } from 'node:util'
import fc from 'fast-check'
import sodium from 'libsodium-wrappers'
import {
  type CredentialBinding,
  type CredentialEnvelope,
  ENVELOPE_ALG,
  EnvelopeError,
  SecretBytes,
  base64url,
  generateBoxKeyPair,
  openCredentialEnvelope,
  parseCredentialBinding,
  parseCredentialEnvelope,
  sealBox,
  sealCredential,
} from '../src/index.ts'

await sodium.ready

const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text)
const CANARY = 'ghp_CANARY_5f3a9c1e7b2d4f6a8c0e'

const binding: CredentialBinding = {
  v: 1,
  connection_id: 'conn_123',
  upload_nonce: 'nonce_abc',
  owner: { iss: 'http://localhost:4000', sub: 'user-1' },
  provider: 'github',
  allowed_hosts: ['api.github.com'],
  inject: { type: 'bearer' },
}
const kp = generateBoxKeyPair()
const keys = (kid: string) => (kid === 'box-1' ? kp : undefined)
const recipient = { kid: 'box-1', publicKey: kp.publicKey }

const isInvalid = (error: unknown): boolean =>
  error instanceof EnvelopeError &&
  error.code === 'ERR_ENVELOPE_INVALID' &&
  error.message === 'Invalid credential envelope'

/** Seals an arbitrary plaintext (bypassing sealCredential's own validation). */
function envelopeOf(plaintext: unknown): CredentialEnvelope {
  const bytes = utf8(typeof plaintext === 'string' ? plaintext : JSON.stringify(plaintext))
  return {
    v: 1,
    kid: 'box-1',
    alg: ENVELOPE_ALG,
    ct: base64url.encode(sealBox(bytes, kp.publicKey)),
  }
}
const plain = (extra: Record<string, unknown> = {}) => ({
  ...binding,
  secret: base64url.encode(utf8(CANARY)),
  ...extra,
})

describe('sealCredential / openCredentialEnvelope', () => {
  it('round-trips the binding and the secret', () => {
    const envelope = sealCredential(binding, utf8(CANARY), recipient)
    assert.deepEqual(Object.keys(envelope), ['v', 'kid', 'alg', 'ct'])
    assert.equal(envelope.v, 1)
    assert.equal(envelope.kid, 'box-1')
    assert.equal(envelope.alg, 'x25519-xsalsa20poly1305-sealedbox')
    const { binding: opened, secret } = openCredentialEnvelope(envelope, keys)
    assert.deepEqual(opened, binding)
    assert.ok(secret instanceof SecretBytes)
    assert.equal(
      secret.use((b) => Buffer.from(b).toString()),
      CANARY,
    )
  })

  it('produces exactly the ARCHITECTURE.md §2 plaintext (libsodium opens it)', () => {
    const envelope = sealCredential(binding, utf8(CANARY), recipient)
    const pt = sodium.crypto_box_seal_open(
      base64url.decode(envelope.ct),
      kp.publicKey,
      kp.secretKey,
    )
    assert.deepEqual(JSON.parse(Buffer.from(pt).toString()), {
      ...binding,
      secret: Buffer.from(CANARY).toString('base64url'),
    })
  })

  it('opens an envelope sealed by libsodium with any member order and whitespace', () => {
    const text = `{ "secret" : "${Buffer.from(CANARY).toString('base64url')}", "inject": {"name":"X-Api-Key","template":"{secret}","type":"header"},
      "allowed_hosts": ["localhost:4300"], "provider": "demo", "owner": {"sub":"u","iss":"i"},
      "upload_nonce": "n", "connection_id": "c", "v": 1 }`
    const ct = base64url.encode(sodium.crypto_box_seal(utf8(text), kp.publicKey))
    const { binding: opened, secret } = openCredentialEnvelope(
      { v: 1, kid: 'box-1', alg: ENVELOPE_ALG, ct },
      keys,
    )
    assert.deepEqual(opened.inject, { type: 'header', name: 'X-Api-Key', template: '{secret}' })
    assert.equal(
      secret.use((b) => Buffer.from(b).toString()),
      CANARY,
    )
  })

  it('accepts every injection shape', () => {
    for (const inject of [
      { type: 'bearer' },
      { type: 'header', name: 'X-Api-Key', template: 'token {secret}' },
      { type: 'basic', username: 'demo' },
      { type: 'query', name: 'api_key' },
    ] as const) {
      const { binding: opened } = openCredentialEnvelope(
        sealCredential({ ...binding, inject }, utf8('s'), recipient),
        keys,
      )
      assert.deepEqual(opened.inject, inject)
    }
  })

  it('binary secrets survive (all 256 byte values)', () => {
    const secret = new Uint8Array(256).map((_, i) => i)
    const opened = openCredentialEnvelope(sealCredential(binding, secret, recipient), keys)
    assert.deepEqual(
      opened.secret.use((b) => b.slice()),
      secret,
    )
  })

  it('the opened secret never prints', () => {
    const { secret } = openCredentialEnvelope(
      sealCredential(binding, utf8(CANARY), recipient),
      keys,
    )
    for (const shown of [
      inspect(secret),
      JSON.stringify({ secret }),
      String(secret),
      // eslint-disable-next-line @typescript-eslint/restrict-template-expressions -- what a template literal shows is under test
      `${secret}`,
      inspect({ secret }, { showHidden: true, depth: 5 }),
    ]) {
      assert.ok(!shown.includes(CANARY), shown)
      assert.ok(!shown.includes(Buffer.from(CANARY).toString('base64url')))
      assert.ok(shown.includes('[REDACTED]'))
    }
    secret.zeroize()
    assert.equal(secret.length, 0)
    assert.throws(() => secret.use(() => 0), { code: 'ERR_SECRET_ZEROIZED' })
  })

  it('refuses to seal an invalid binding or an empty secret', () => {
    assert.throws(
      () => sealCredential({ ...binding, allowed_hosts: [] }, utf8('s'), recipient),
      isInvalid,
    )
    assert.throws(() => sealCredential(binding, new Uint8Array(0), recipient), isInvalid)
    assert.throws(
      () => sealCredential(binding, utf8('s'), { kid: '', publicKey: kp.publicKey }),
      isInvalid,
    )
    assert.throws(
      () => sealCredential(binding, utf8('s'), { kid: 'k', publicKey: new Uint8Array(3) }),
      isInvalid,
    )
  })
})

describe('parseCredentialEnvelope rejects', () => {
  const good = sealCredential(binding, utf8(CANARY), recipient)
  const cases: [string, unknown][] = [
    ['null', null],
    ['an array', [good]],
    ['a string', JSON.stringify(good)],
    ['v = 2', { ...good, v: 2 }],
    ['v = "1"', { ...good, v: '1' }],
    ['missing kid', { v: 1, alg: good.alg, ct: good.ct }],
    ['empty kid', { ...good, kid: '' }],
    ['kid of 129 characters', { ...good, kid: 'k'.repeat(129) }],
    ['kid with a space', { ...good, kid: 'a b' }],
    ['kid not a string', { ...good, kid: 7 }],
    ['other alg', { ...good, alg: 'x25519-xchacha20poly1305' }],
    ['alg in upper case', { ...good, alg: ENVELOPE_ALG.toUpperCase() }],
    ['ct with padding', { ...good, ct: `${good.ct}=` }],
    ['ct in standard base64', { ...good, ct: good.ct.replace(/[-_]/g, '+') + '+/' }],
    ['ct shorter than a sealed box', { ...good, ct: base64url.encode(new Uint8Array(48)) }],
    ['ct too long', { ...good, ct: 'A'.repeat(100_000) }],
    ['an extra member', { ...good, extra: true }],
    ['a class instance', Object.assign(Object.create({ polluted: 1 }) as object, good)],
  ]
  for (const [label, value] of cases) {
    it(label, () => assert.throws(() => parseCredentialEnvelope(value), isInvalid))
  }
  it('and returns a clean copy of a good envelope', () => {
    assert.deepEqual(parseCredentialEnvelope(JSON.parse(JSON.stringify(good))), good)
  })
})

describe('openCredentialEnvelope rejects with the same generic error', () => {
  const good = sealCredential(binding, utf8(CANARY), recipient)
  const tamper = (index: number) => {
    const ct = base64url.decode(good.ct)
    ct[index] = (ct[index] ?? 0) ^ 1
    return { ...good, ct: base64url.encode(ct) }
  }
  const cases: [string, CredentialEnvelope][] = [
    ['unknown kid', { ...good, kid: 'box-2' }],
    ['flipped byte in epk', tamper(0)],
    ['flipped byte in tag', tamper(40)],
    ['flipped byte in body', tamper(60)],
    [
      'sealed to another key',
      sealCredential(binding, utf8('s'), {
        kid: 'box-1',
        publicKey: generateBoxKeyPair().publicKey,
      }),
    ],
    ['plaintext not JSON', envelopeOf('not json at all')],
    [
      'plaintext not UTF-8',
      {
        ...good,
        ct: base64url.encode(sealBox(new Uint8Array([0x7b, 0xff, 0xfe, 0x7d]), kp.publicKey)),
      },
    ],
    ['plaintext a JSON array', envelopeOf([plain()])],
    ['v = 2', envelopeOf(plain({ v: 2 }))],
    ['missing secret', envelopeOf({ ...binding })],
    ['secret not a string', envelopeOf(plain({ secret: 12 }))],
    ['secret empty', envelopeOf(plain({ secret: '' }))],
    ['secret with padding', envelopeOf(plain({ secret: 'YQ==' }))],
    ['secret non-canonical base64url', envelopeOf(plain({ secret: 'YR' }))],
    [
      'secret with an escape',
      envelopeOf(JSON.stringify(plain()).replace('"secret":"', '"secret":"\\u0041')),
    ],
    ['duplicate secret', envelopeOf(`${JSON.stringify(plain()).slice(0, -1)},"secret":"QUFB"}`)],
    [
      'secret key escaped',
      envelopeOf(`${JSON.stringify(plain()).slice(0, -1)},"secr\\u0065t":"QUFB"}`),
    ],
    [
      'duplicate key inside owner',
      envelopeOf(JSON.stringify(plain()).replace('"owner":{', '"owner":{"sub":"x",')),
    ],
    ['missing owner.sub', envelopeOf(plain({ owner: { iss: 'i' } }))],
    ['extra member in owner', envelopeOf(plain({ owner: { iss: 'i', sub: 's', tenant: 't' } }))],
    [
      'missing connection_id',
      envelopeOf(
        Object.fromEntries(Object.entries(plain()).filter(([k]) => k !== 'connection_id')),
      ),
    ],
    ['empty upload_nonce', envelopeOf(plain({ upload_nonce: '' }))],
    ['provider in upper case', envelopeOf(plain({ provider: 'GitHub' }))],
    ['allowed_hosts empty', envelopeOf(plain({ allowed_hosts: [] }))],
    ['allowed_hosts a string', envelopeOf(plain({ allowed_hosts: 'api.github.com' }))],
    [
      'allowed_hosts with a non-string',
      envelopeOf(plain({ allowed_hosts: ['api.github.com', 1] })),
    ],
    ['allowed_hosts with userinfo', envelopeOf(plain({ allowed_hosts: ['evil@api.github.com'] }))],
    ['inject type unknown', envelopeOf(plain({ inject: { type: 'cookie' } }))],
    [
      'inject bearer with extra member',
      envelopeOf(plain({ inject: { type: 'bearer', name: 'x' } })),
    ],
    [
      'inject header missing template',
      envelopeOf(plain({ inject: { type: 'header', name: 'X-Api-Key' } })),
    ],
    [
      'inject header name with CR LF',
      envelopeOf(plain({ inject: { type: 'header', name: 'X\r\nY', template: '{secret}' } })),
    ],
    [
      'inject header template with LF',
      envelopeOf(plain({ inject: { type: 'header', name: 'X', template: 'a\nb' } })),
    ],
    [
      'inject basic username with colon',
      envelopeOf(plain({ inject: { type: 'basic', username: 'a:b' } })),
    ],
    ['inject query missing name', envelopeOf(plain({ inject: { type: 'query' } }))],
    ['extra top-level member', envelopeOf(plain({ note: 'hi' }))],
    ['trailing garbage', envelopeOf(`${JSON.stringify(plain())}x`)],
  ]
  for (const [label, envelope] of cases) {
    it(label, () => assert.throws(() => openCredentialEnvelope(envelope, keys), isInvalid))
  }
  it('a keyForKid that throws', () => {
    assert.throws(
      () =>
        openCredentialEnvelope(good, () => {
          throw new Error('kms down')
        }),
      isInvalid,
    )
  })
  it('no error message or stack mentions the canary', () => {
    for (const [, envelope] of cases) {
      try {
        openCredentialEnvelope(envelope, keys)
      } catch (error) {
        assert.ok(!inspect(error).includes(CANARY))
        assert.ok(!inspect(error).includes(Buffer.from(CANARY).toString('base64url')))
      }
    }
  })
})

describe('parseCredentialBinding', () => {
  it('returns a copy with only known members', () => {
    assert.deepEqual(parseCredentialBinding(JSON.parse(JSON.stringify(binding))), binding)
  })
})

describe('property: random input only ever throws EnvelopeError', () => {
  it('parseCredentialEnvelope on random JSON values', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        assert.throws(() => parseCredentialEnvelope(value), isInvalid)
      }),
      { numRuns: 300 },
    )
  })
  it('parseCredentialEnvelope on random envelope-like objects', () => {
    const arb = fc.record({
      v: fc.oneof(fc.constant(1), fc.anything()),
      kid: fc.string(),
      alg: fc.string(),
      ct: fc.string(),
    })
    fc.assert(
      fc.property(arb, (value) => {
        try {
          parseCredentialEnvelope(value)
        } catch (error) {
          assert.ok(isInvalid(error))
        }
      }),
      { numRuns: 300 },
    )
  })
  it('openCredentialEnvelope on random sealed plaintexts', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.uint8Array({ minLength: 1, maxLength: 300 }), fc.json().map(utf8)),
        (bytes) => {
          const envelope = {
            v: 1 as const,
            kid: 'box-1',
            alg: ENVELOPE_ALG,
            ct: base64url.encode(sealBox(bytes, kp.publicKey)),
          } as const
          assert.throws(() => openCredentialEnvelope(envelope, keys), isInvalid)
        },
      ),
      { numRuns: 200 },
    )
  })
})
