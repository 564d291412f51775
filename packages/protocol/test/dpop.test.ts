import assert from 'node:assert/strict'
import { type KeyObject, createHash, generateKeyPairSync, sign } from 'node:crypto'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import * as jose from 'jose'
import {
  DPOP_DEFAULT_ALGORITHMS,
  DpopProofError,
  type DpopProofErrorCode,
  MemoryReplayStore,
  ReplayStoreError,
  calculateJwkThumbprint,
  createDpopProof,
  generateDpopKeyPair,
  normalizeHtu,
  verifyDpopProof,
} from '../src/index.ts'

const NOW = 1_800_000_000
const HTU = 'https://mcp.example.com/mcp'
const TOKEN = 'eyJhbGciOiJFUzI1NiJ9.access-token.sig'
const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url')
const code = (c: DpopProofErrorCode) => (error: unknown) =>
  error instanceof DpopProofError && error.code === c

/** A proof signer with an exportable node key, to build proofs the SDK itself would never make. */
function rawSigner(kind: 'ec' | 'ed25519' | 'p384' = 'ec') {
  const { privateKey, publicKey } =
    kind === 'ec'
      ? generateKeyPairSync('ec', { namedCurve: 'P-256' })
      : kind === 'p384'
        ? generateKeyPairSync('ec', { namedCurve: 'P-384' })
        : generateKeyPairSync('ed25519')
  const jwk = publicKey.export({ format: 'jwk' }) as JsonWebKey
  const privateJwk = privateKey.export({ format: 'jwk' }) as JsonWebKey
  return { privateKey, jwk, privateJwk }
}
function craft(
  header: Record<string, unknown>,
  payload: Record<string, unknown>,
  key: KeyObject,
  hash: string | null = 'sha256',
): string {
  const input = `${b64(header)}.${b64(payload)}`
  const sig =
    hash === null
      ? sign(null, Buffer.from(input), key)
      : sign(hash, Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' })
  return `${input}.${sig.toString('base64url')}`
}
const ec = rawSigner('ec')
const baseHeader = { typ: 'dpop+jwt', alg: 'ES256', jwk: ec.jwk }
const basePayload = { jti: 'jti-1', htm: 'POST', htu: HTU, iat: NOW }
const opts = { htm: 'POST', htu: HTU, now: NOW }

describe('RFC 7638 thumbprint', () => {
  it('matches the RFC 7638 §3.1 example', async () => {
    const jwk = {
      kty: 'RSA',
      n: '0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw',
      e: 'AQAB',
      alg: 'RS256',
      kid: '2011-04-29',
    }
    assert.equal(await calculateJwkThumbprint(jwk), 'NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs')
  })
  it('agrees with jose for EC and OKP keys', async () => {
    for (const jwk of [ec.jwk, rawSigner('ed25519').jwk]) {
      assert.equal(
        await calculateJwkThumbprint(jwk),
        await jose.calculateJwkThumbprint(jwk as jose.JWK, 'sha256'),
      )
    }
  })
  it('rejects a JWK without its required members', async () => {
    await assert.rejects(calculateJwkThumbprint({ kty: 'EC', crv: 'P-256', x: 'abc' }), TypeError)
  })
})

describe('normalizeHtu', () => {
  it('lower-cases scheme and host, drops default port, query and fragment', () => {
    assert.equal(
      normalizeHtu('HTTPS://MCP.Example.COM:443/mcp?a=1#frag'),
      'https://mcp.example.com/mcp',
    )
    assert.equal(normalizeHtu('http://localhost:80/x'), 'http://localhost/x')
    assert.equal(normalizeHtu('http://localhost:4100/mcp'), 'http://localhost:4100/mcp')
    assert.equal(normalizeHtu(new URL('https://a.example')), 'https://a.example/')
    assert.equal(normalizeHtu('https://user:pw@a.example/p'), 'https://a.example/p')
  })
  it('keeps the path exactly (trailing slash matters)', () => {
    assert.notEqual(normalizeHtu('https://a.example/mcp'), normalizeHtu('https://a.example/mcp/'))
  })
  it('refuses non-http schemes and garbage', () => {
    assert.throws(() => normalizeHtu('ftp://a.example/x'), TypeError)
    assert.throws(() => normalizeHtu('not a url'), TypeError)
  })
})

describe('generateDpopKeyPair / createDpopProof', () => {
  for (const alg of ['ES256', 'EdDSA'] as const) {
    it(`${alg}: non-extractable private key, public-only JWK, proof verifies`, async () => {
      const key = await generateDpopKeyPair(alg)
      assert.equal(key.alg, alg)
      assert.equal(key.privateKey.extractable, false)
      await assert.rejects(crypto.subtle.exportKey('jwk', key.privateKey))
      assert.deepEqual(
        Object.keys(key.publicJwk).sort(),
        alg === 'ES256' ? ['crv', 'kty', 'x', 'y'] : ['crv', 'kty', 'x'],
      )
      assert.equal(key.jkt, await jose.calculateJwkThumbprint(key.publicJwk as jose.JWK, 'sha256'))
      const proof = await createDpopProof(key, {
        htm: 'POST',
        htu: `${HTU}?q=1#f`,
        accessToken: TOKEN,
        nonce: 'n-1',
        iat: NOW,
        jti: 'fixed',
      })
      const header = jose.decodeProtectedHeader(proof)
      assert.deepEqual(header, { typ: 'dpop+jwt', alg, jwk: key.publicJwk })
      assert.deepEqual(jose.decodeJwt(proof), {
        jti: 'fixed',
        htm: 'POST',
        htu: HTU,
        iat: NOW,
        ath: createHash('sha256').update(TOKEN).digest('base64url'),
        nonce: 'n-1',
      })
      // jose agrees the signature is valid
      await jose.compactVerify(proof, await jose.importJWK(key.publicJwk as jose.JWK, alg))
      const verified = await verifyDpopProof(proof, {
        ...opts,
        accessToken: TOKEN,
        nonce: 'n-1',
        expectedJkt: key.jkt,
      })
      assert.deepEqual(verified, {
        jkt: key.jkt,
        jti: 'fixed',
        iat: NOW,
        jwk: key.publicJwk,
        nonce: 'n-1',
      })
    })
  }
  it('uses a fresh random jti and the current time by default', async () => {
    const key = await generateDpopKeyPair()
    const a = jose.decodeJwt(await createDpopProof(key, { htm: 'GET', htu: HTU }))
    const b = jose.decodeJwt(await createDpopProof(key, { htm: 'GET', htu: HTU }))
    assert.notEqual(a.jti, b.jti)
    assert.ok(typeof a.jti === 'string' && a.jti.length >= 22)
    assert.ok(Math.abs((a.iat ?? 0) - Date.now() / 1000) < 60)
    assert.equal(a.ath, undefined)
    assert.equal(a.nonce, undefined)
  })
  it('DPOP_DEFAULT_ALGORITHMS is ES256 and EdDSA', () => {
    assert.deepEqual([...DPOP_DEFAULT_ALGORITHMS], ['ES256', 'EdDSA'])
  })
})

describe('verifyDpopProof accepts', () => {
  it('a crafted ES256 proof and returns its details', async () => {
    const result = await verifyDpopProof(craft(baseHeader, basePayload, ec.privateKey), opts)
    assert.equal(result.jkt, await calculateJwkThumbprint(ec.jwk))
    assert.equal(result.jti, 'jti-1')
    assert.equal(result.iat, NOW)
    assert.equal(result.nonce, undefined)
  })
  it('htu differing only by case, default port, query and fragment', async () => {
    const proof = craft(
      baseHeader,
      { ...basePayload, htu: 'HTTPS://MCP.EXAMPLE.COM:443/mcp?x=1#y' },
      ec.privateKey,
    )
    await verifyDpopProof(proof, { ...opts, htu: 'https://mcp.example.com/mcp?other=2' })
  })
  it('iat exactly at the edges of the window', async () => {
    await verifyDpopProof(
      craft(baseHeader, { ...basePayload, iat: NOW - 300 }, ec.privateKey),
      opts,
    )
    await verifyDpopProof(craft(baseHeader, { ...basePayload, iat: NOW + 5 }, ec.privateKey), opts)
    await verifyDpopProof(craft(baseHeader, { ...basePayload, iat: NOW - 10 }, ec.privateKey), {
      ...opts,
      maxAgeSeconds: 10,
    })
  })
  it('ES384 only when allowed explicitly', async () => {
    const p384 = rawSigner('p384')
    const proof = craft(
      { ...baseHeader, alg: 'ES384', jwk: p384.jwk },
      basePayload,
      p384.privateKey,
      'sha384',
    )
    await assert.rejects(verifyDpopProof(proof, opts), code('ERR_DPOP_ALG'))
    await verifyDpopProof(proof, { ...opts, algorithms: ['ES384'] })
  })
  it("a header accepted once is still held to each call's allow-list and signature", async () => {
    // The checked-header cache is keyed by the header bytes: a later proof with the same header
    // must not skip the caller's algorithm list, the signature, or the signature's encoding.
    const p384 = rawSigner('p384')
    const header = { ...baseHeader, alg: 'ES384', jwk: p384.jwk }
    const first = craft(header, { ...basePayload, jti: 'cache-1' }, p384.privateKey, 'sha384')
    await verifyDpopProof(first, { ...opts, algorithms: ['ES384'] })
    const second = craft(header, { ...basePayload, jti: 'cache-2' }, p384.privateKey, 'sha384')
    await assert.rejects(verifyDpopProof(second, opts), code('ERR_DPOP_ALG'))
    const [h, p] = second.split('.')
    const forged = `${h}.${b64({ ...basePayload, jti: 'cache-3' })}.${second.split('.')[2]}`
    await assert.rejects(
      verifyDpopProof(forged, { ...opts, algorithms: ['ES384'] }),
      code('ERR_DPOP_SIGNATURE'),
    )
    await assert.rejects(
      verifyDpopProof(`${h}.${p}.not*base64url`, { ...opts, algorithms: ['ES384'] }),
      code('ERR_DPOP_MALFORMED'),
    )
    const verified = await verifyDpopProof(second, { ...opts, algorithms: ['ES384'] })
    assert.ok(Object.isFrozen(verified.jwk), 'the shared JWK cannot be changed by a caller')
  })
})

describe('verifyDpopProof rejects', () => {
  const ed = rawSigner('ed25519')
  const good = craft(baseHeader, basePayload, ec.privateKey)
  const [h, p, s] = good.split('.') as [string, string, string]
  const cases: [
    string,
    DpopProofErrorCode,
    () => string,
    Partial<Parameters<typeof verifyDpopProof>[1]>?,
  ][] = [
    ['an empty string', 'ERR_DPOP_MALFORMED', () => ''],
    ['two parts', 'ERR_DPOP_MALFORMED', () => `${h}.${p}`],
    ['four parts', 'ERR_DPOP_MALFORMED', () => `${good}.x`],
    ['a JWE-like five-part token', 'ERR_DPOP_MALFORMED', () => `${h}.${p}.${s}.a.b`],
    ['header not base64url', 'ERR_DPOP_MALFORMED', () => `${h}*.${p}.${s}`],
    [
      'header not JSON',
      'ERR_DPOP_MALFORMED',
      () => `${Buffer.from('{nope').toString('base64url')}.${p}.${s}`,
    ],
    ['header a JSON array', 'ERR_DPOP_MALFORMED', () => `${b64([baseHeader])}.${p}.${s}`],
    ['empty signature', 'ERR_DPOP_MALFORMED', () => `${h}.${p}.`],
    [
      'a crit header',
      'ERR_DPOP_MALFORMED',
      () => craft({ ...baseHeader, crit: ['exp'], exp: 1 }, basePayload, ec.privateKey),
    ],
    [
      'a huge proof',
      'ERR_DPOP_MALFORMED',
      () => craft(baseHeader, { ...basePayload, pad: 'x'.repeat(9000) }, ec.privateKey),
    ],
    [
      'payload without jti',
      'ERR_DPOP_MALFORMED',
      () => craft(baseHeader, { ...basePayload, jti: undefined }, ec.privateKey),
    ],
    [
      'payload with iat as a string',
      'ERR_DPOP_MALFORMED',
      () => craft(baseHeader, { ...basePayload, iat: String(NOW) }, ec.privateKey),
    ],
    [
      'payload without htu',
      'ERR_DPOP_MALFORMED',
      () => craft(baseHeader, { ...basePayload, htu: undefined }, ec.privateKey),
    ],
    [
      'payload not JSON',
      'ERR_DPOP_MALFORMED',
      () => {
        const input = `${h}.${Buffer.from('nope').toString('base64url')}`
        return `${input}.${sign('sha256', Buffer.from(input), { key: ec.privateKey, dsaEncoding: 'ieee-p1363' }).toString('base64url')}`
      },
    ],
    [
      'typ jwt',
      'ERR_DPOP_TYP',
      () => craft({ ...baseHeader, typ: 'JWT' }, basePayload, ec.privateKey),
    ],
    [
      'typ missing',
      'ERR_DPOP_TYP',
      () => craft({ alg: 'ES256', jwk: ec.jwk }, basePayload, ec.privateKey),
    ],
    [
      'typ at+jwt (an access token)',
      'ERR_DPOP_TYP',
      () => craft({ ...baseHeader, typ: 'at+jwt' }, basePayload, ec.privateKey),
    ],
    ['alg none', 'ERR_DPOP_ALG', () => `${b64({ ...baseHeader, alg: 'none' })}.${p}.` + 'AA'],
    [
      'alg none even when listed',
      'ERR_DPOP_ALG',
      () => `${b64({ ...baseHeader, alg: 'none' })}.${p}.AA`,
      { algorithms: ['none', 'ES256'] },
    ],
    [
      'HS256 even when listed (public key as HMAC secret)',
      'ERR_DPOP_ALG',
      () => `${b64({ ...baseHeader, alg: 'HS256' })}.${p}.${s}`,
      { algorithms: ['HS256'] },
    ],
    [
      'alg missing',
      'ERR_DPOP_ALG',
      () => craft({ typ: 'dpop+jwt', jwk: ec.jwk }, basePayload, ec.privateKey),
    ],
    [
      'EdDSA when only ES256 is allowed',
      'ERR_DPOP_ALG',
      () => craft({ ...baseHeader, alg: 'EdDSA', jwk: ed.jwk }, basePayload, ed.privateKey, null),
      { algorithms: ['ES256'] },
    ],
    [
      'jwk with the private key d',
      'ERR_DPOP_JWK',
      () => craft({ ...baseHeader, jwk: ec.privateJwk }, basePayload, ec.privateKey),
    ],
    [
      'jwk symmetric (kty oct)',
      'ERR_DPOP_JWK',
      () =>
        craft({ ...baseHeader, jwk: { kty: 'oct', k: 'c2VjcmV0' } }, basePayload, ec.privateKey),
    ],
    [
      'jwk with RSA private members',
      'ERR_DPOP_JWK',
      () =>
        craft({ ...baseHeader, jwk: { ...ec.jwk, p: 'AQ', q: 'AQ' } }, basePayload, ec.privateKey),
    ],
    [
      'jwk missing',
      'ERR_DPOP_JWK',
      () => craft({ typ: 'dpop+jwt', alg: 'ES256' }, basePayload, ec.privateKey),
    ],
    [
      'jwk of another curve than alg',
      'ERR_DPOP_JWK',
      () => craft({ ...baseHeader, jwk: rawSigner('p384').jwk }, basePayload, ec.privateKey),
    ],
    [
      'jwk an Ed25519 key with ES256',
      'ERR_DPOP_JWK',
      () => craft({ ...baseHeader, jwk: ed.jwk }, basePayload, ec.privateKey),
    ],
    [
      'jwk point not on the curve',
      'ERR_DPOP_JWK',
      () => craft({ ...baseHeader, jwk: { ...ec.jwk, y: ec.jwk.x } }, basePayload, ec.privateKey),
    ],
    [
      'signature by another key',
      'ERR_DPOP_SIGNATURE',
      () => craft(baseHeader, basePayload, rawSigner('ec').privateKey),
    ],
    [
      'payload changed after signing',
      'ERR_DPOP_SIGNATURE',
      () => `${h}.${b64({ ...basePayload, htm: 'GET' })}.${s}`,
    ],
    ['signature truncated', 'ERR_DPOP_SIGNATURE', () => `${h}.${p}.${s.slice(0, 40)}`],
    [
      'DER-encoded ECDSA signature',
      'ERR_DPOP_SIGNATURE',
      () =>
        `${h}.${p}.${sign('sha256', Buffer.from(`${h}.${p}`), ec.privateKey).toString('base64url')}`,
    ],
    [
      'htm in lower case',
      'ERR_DPOP_HTM',
      () => craft(baseHeader, { ...basePayload, htm: 'post' }, ec.privateKey),
    ],
    [
      'htm GET for a POST',
      'ERR_DPOP_HTM',
      () => craft(baseHeader, { ...basePayload, htm: 'GET' }, ec.privateKey),
    ],
    [
      'htu of another path',
      'ERR_DPOP_HTU',
      () =>
        craft(baseHeader, { ...basePayload, htu: 'https://mcp.example.com/other' }, ec.privateKey),
    ],
    [
      'htu with a trailing slash',
      'ERR_DPOP_HTU',
      () => craft(baseHeader, { ...basePayload, htu: `${HTU}/` }, ec.privateKey),
    ],
    [
      'htu of another host',
      'ERR_DPOP_HTU',
      () =>
        craft(baseHeader, { ...basePayload, htu: 'https://evil.example.com/mcp' }, ec.privateKey),
    ],
    [
      'htu with http instead of https',
      'ERR_DPOP_HTU',
      () => craft(baseHeader, { ...basePayload, htu: 'http://mcp.example.com/mcp' }, ec.privateKey),
    ],
    [
      'htu with another port',
      'ERR_DPOP_HTU',
      () =>
        craft(
          baseHeader,
          { ...basePayload, htu: 'https://mcp.example.com:8443/mcp' },
          ec.privateKey,
        ),
    ],
    [
      'htu not a URL',
      'ERR_DPOP_HTU',
      () => craft(baseHeader, { ...basePayload, htu: '/mcp' }, ec.privateKey),
    ],
    [
      'iat too old',
      'ERR_DPOP_IAT',
      () => craft(baseHeader, { ...basePayload, iat: NOW - 301 }, ec.privateKey),
    ],
    [
      'iat in the future beyond skew',
      'ERR_DPOP_IAT',
      () => craft(baseHeader, { ...basePayload, iat: NOW + 6 }, ec.privateKey),
    ],
    [
      'iat older than a custom maxAge',
      'ERR_DPOP_IAT',
      () => craft(baseHeader, { ...basePayload, iat: NOW - 11 }, ec.privateKey),
      { maxAgeSeconds: 10 },
    ],
    [
      'iat ahead of a zero skew',
      'ERR_DPOP_IAT',
      () => craft(baseHeader, { ...basePayload, iat: NOW + 1 }, ec.privateKey),
      { clockSkewSeconds: 0 },
    ],
    ['ath missing when a token is sent', 'ERR_DPOP_ATH', () => good, { accessToken: TOKEN }],
    [
      'ath of another token',
      'ERR_DPOP_ATH',
      () =>
        craft(
          baseHeader,
          { ...basePayload, ath: createHash('sha256').update('other').digest('base64url') },
          ec.privateKey,
        ),
      { accessToken: TOKEN },
    ],
    [
      'ath as hex',
      'ERR_DPOP_ATH',
      () =>
        craft(
          baseHeader,
          { ...basePayload, ath: createHash('sha256').update(TOKEN).digest('hex') },
          ec.privateKey,
        ),
      { accessToken: TOKEN },
    ],
    ['nonce missing when expected', 'ERR_DPOP_NONCE', () => good, { nonce: 'server-nonce' }],
    ['nonce missing when required', 'ERR_DPOP_NONCE', () => good, { requireNonce: true }],
    [
      'an old nonce',
      'ERR_DPOP_NONCE',
      () => craft(baseHeader, { ...basePayload, nonce: 'old-nonce' }, ec.privateKey),
      { nonce: 'server-nonce' },
    ],
    [
      'a key other than cnf.jkt',
      'ERR_DPOP_JKT_MISMATCH',
      () => good,
      { expectedJkt: 'NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs' },
    ],
  ]
  for (const [label, expected, make, extra] of cases) {
    it(`${label} → ${expected}`, async () => {
      await assert.rejects(verifyDpopProof(make(), { ...opts, ...extra }), code(expected))
    })
  }

  it('a replayed jti, immediately → ERR_DPOP_REPLAY', async () => {
    const replayStore = new MemoryReplayStore({ now: () => NOW })
    await verifyDpopProof(good, { ...opts, replayStore })
    await assert.rejects(verifyDpopProof(good, { ...opts, replayStore }), code('ERR_DPOP_REPLAY'))
  })

  it('a replayed jti after 10,000 other proofs → ERR_DPOP_REPLAY', async () => {
    const replayStore = new MemoryReplayStore({ maxEntries: 20_000, now: () => NOW })
    const first = craft(baseHeader, { ...basePayload, jti: 'victim' }, ec.privateKey)
    await verifyDpopProof(first, { ...opts, replayStore })
    for (let i = 0; i < 10_000; i++) {
      await verifyDpopProof(
        craft(baseHeader, { ...basePayload, jti: `other-${i}` }, ec.privateKey),
        { ...opts, replayStore },
      )
    }
    assert.equal(replayStore.size, 10_001)
    await assert.rejects(verifyDpopProof(first, { ...opts, replayStore }), code('ERR_DPOP_REPLAY'))
  })

  it('the same jti from two different keys is not a replay (key = jkt:jti)', async () => {
    const replayStore = new MemoryReplayStore({ now: () => NOW })
    const other = rawSigner('ec')
    await verifyDpopProof(good, { ...opts, replayStore })
    await verifyDpopProof(craft({ ...baseHeader, jwk: other.jwk }, basePayload, other.privateKey), {
      ...opts,
      replayStore,
    })
  })

  it('records the jti until iat + maxAge + skew', async () => {
    const calls: [string, number][] = []
    const replayStore = {
      checkAndStore: (key: string, exp: number) => (calls.push([key, exp]), Promise.resolve(true)),
    }
    const { jkt } = await verifyDpopProof(good, { ...opts, replayStore })
    assert.deepEqual(calls, [[`${jkt}:jti-1`, NOW + 300 + 5]])
  })

  it('does not record proofs that fail another check', async () => {
    const replayStore = new MemoryReplayStore({ now: () => NOW })
    await assert.rejects(
      verifyDpopProof(good, { ...opts, htm: 'GET', replayStore }),
      code('ERR_DPOP_HTM'),
    )
    assert.equal(replayStore.size, 0)
  })

  it('a full replay store fails closed with ReplayStoreError', async () => {
    const replayStore = new MemoryReplayStore({ maxEntries: 1, now: () => NOW })
    await verifyDpopProof(good, { ...opts, replayStore })
    const next = craft(baseHeader, { ...basePayload, jti: 'jti-2' }, ec.privateKey)
    await assert.rejects(
      verifyDpopProof(next, { ...opts, replayStore }),
      (error: unknown) =>
        error instanceof ReplayStoreError && error.code === 'ERR_REPLAY_STORE_FULL',
    )
  })
})

describe('property: random input only ever throws DpopProofError', () => {
  it('random strings and random three-part tokens', async () => {
    const part = fc.oneof(
      fc.base64String(),
      fc.string(),
      fc.json().map((j) => Buffer.from(j).toString('base64url')),
    )
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.string(),
          fc.tuple(part, part, part).map((t) => t.join('.')),
        ),
        async (proof) => {
          await assert.rejects(
            verifyDpopProof(proof, opts),
            (error: unknown) => error instanceof DpopProofError,
          )
        },
      ),
      { numRuns: 300 },
    )
  })
  it('random headers and payloads, correctly signed', async () => {
    const anyRecord = fc.dictionary(
      fc.constantFrom('typ', 'alg', 'jwk', 'jti', 'htm', 'htu', 'iat', 'ath', 'nonce', 'crit', 'd'),
      fc.jsonValue(),
    )
    await fc.assert(
      fc.asyncProperty(anyRecord, anyRecord, async (header, payload) => {
        const proof = craft(
          { ...baseHeader, ...header },
          { ...basePayload, ...payload, jti: `p-${Math.random()}` },
          ec.privateKey,
        )
        try {
          await verifyDpopProof(proof, opts)
        } catch (error) {
          assert.ok(error instanceof DpopProofError, String(error))
        }
      }),
      { numRuns: 300 },
    )
  })
})
