/**
 * End-to-end over real processes: `src/main.ts` (launcher) + its worker, a stub AS, a loopback
 * HTTPS upstream with a throwaway CA. Each THREATS.md "Connections and the enclave" row that
 * the enclave owns is one test here; the canary secret is checked in every output at the end.
 */
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { randomBytes, randomUUID } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { decodeProtectedHeader, generateKeyPair, SignJWT } from 'jose'
import {
  base64url,
  calculateJwkThumbprint,
  createDpopProof,
  generateDpopKeyPair,
  verifyAttestation,
} from '@dauth/protocol'
import type { CredentialInjection } from '@dauth/protocol'
import {
  addConnection,
  attestedKey,
  dispatch,
  dispatchToken,
  makeCaller,
} from '../fixtures/client.ts'
import type { Caller, DispatchAnswer } from '../fixtures/client.ts'
import { WORKER_MAX_SEMI_SPACE_MIB } from '../../src/launcher/supervisor.ts'
import { spawnEnclave } from '../fixtures/enclaveProcess.ts'
import type { EnclaveProcess } from '../fixtures/enclaveProcess.ts'
import { makeTestPki } from '../fixtures/pki.ts'
import type { TestPki } from '../fixtures/pki.ts'
import { makeEnclaveClientKey, startStubAs } from '../fixtures/stubAs.ts'
import type { StoredRecord, StubAs } from '../fixtures/stubAs.ts'
import { sha256b64url, startTestUpstream } from '../fixtures/upstream.ts'
import type { TestUpstream } from '../fixtures/upstream.ts'

const CLI = resolve(import.meta.dirname, '../../src/cli.ts')
const CANARY = `cnry_${randomBytes(24).toString('base64url')}`
const CANARY_BYTES = new TextEncoder().encode(CANARY)

function canaryForms(): string[] {
  return [
    CANARY,
    Buffer.from(CANARY).toString('hex'),
    Buffer.from(CANARY).toString('base64'),
    Buffer.from(CANARY).toString('base64url'),
    base64url.encode(CANARY_BYTES),
    encodeURIComponent(CANARY),
    Buffer.from(`alice:${CANARY}`).toString('base64').replace(/=+$/, ''),
    JSON.stringify(CANARY).slice(1, -1),
    CANARY.slice(5, 29), // a long fragment of the random part
  ]
}

function assertNoCanary(text: string, where: string): void {
  for (const form of canaryForms())
    assert.equal(
      text.includes(form),
      false,
      `canary form ${canaryForms().indexOf(form)} found in ${where}`,
    )
}

const HANDLE_UNAVAILABLE = {
  error: 'handle_unavailable',
  error_description: 'The connection handle is not available',
}
const HOST_NOT_ALLOWED = {
  error: 'host_not_allowed',
  error_description: 'The upstream host is not allowed for this connection',
}
const INVALID_TOKEN = {
  error: 'invalid_token',
  error_description: 'The dispatch token or its DPoP proof is invalid',
}
const INVALID_REQUEST = {
  error: 'invalid_request',
  error_description: 'The dispatch request is malformed',
}
const NOT_FOUND = { error: 'not_found', error_description: 'Not found' }
const CHALLENGE = 'DPoP error="invalid_token", algs="ES256 EdDSA"'

let dir: string
let pki: TestPki
let upstream: TestUpstream
let other: TestUpstream
let as: StubAs
let enclave: EnclaveProcess
let stateDir: string
let keyFile: string
let caller: Caller
let recipient: { kid: string; publicKey: Uint8Array }
const answers: string[] = []

async function send(
  token: string,
  body: unknown,
  options: Parameters<typeof dispatch>[3] = {},
): Promise<DispatchAnswer> {
  const answer = await dispatch(caller, token, body, options)
  answers.push(answer.text)
  return answer
}

function connect(
  inject: CredentialInjection,
  extra: Partial<Parameters<typeof addConnection>[1]> = {},
): StoredRecord {
  return addConnection(as, {
    sub: 'alice',
    secret: CANARY_BYTES,
    inject,
    allowedHosts: [upstream.host],
    recipient,
    ...extra,
  })
}

async function call(
  record: StoredRecord,
  request: Record<string, unknown>,
  sub = 'alice',
): Promise<DispatchAnswer> {
  const token = await dispatchToken(caller, sub, { demo: record.handle })
  return send(token, { handle: record.handle, request })
}

function upstreamBody(answer: DispatchAnswer): Record<string, unknown> {
  return JSON.parse(answer.json.body as string) as Record<string, unknown>
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'enclave-e2e-'))
  pki = makeTestPki(dir)
  upstream = await startTestUpstream(pki)
  other = await startTestUpstream(pki)
  const clientKey = await makeEnclaveClientKey()
  as = await startStubAs(clientKey)
  stateDir = join(dir, 'state')
  keyFile = join(dir, 'enclave.jwk.json')
  writeFileSync(keyFile, JSON.stringify(clientKey.privateJwk), { mode: 0o600 })
  enclave = await spawnEnclave({
    DAUTH_STATE_DIR: stateDir,
    DAUTH_ISSUER: as.issuer,
    DAUTH_ENCLAVE_CLIENT_KEY_FILE: keyFile,
    DAUTH_ENCLAVE_DEV_UPSTREAMS: '1',
    DAUTH_ENCLAVE_EXTRA_CA: pki.caFile,
    DAUTH_ENCLAVE_TEST_HOOKS: '1',
    DAUTH_ENCLAVE_UPSTREAM_TIMEOUT_MS: '5000',
  })
  recipient = await attestedKey(enclave.url, stateDir)
  caller = await makeCaller(as, enclave.url, enclave.enclaveUrl)
})

after(async () => {
  await enclave?.stop()
  await as?.close()
  await upstream?.close()
  await other?.close()
  rmSync(dir, { recursive: true, force: true })
})

describe('launcher API', () => {
  it('GET /healthz answers 200 {"status":"ok"} when the worker is up', async () => {
    const res = await fetch(`${enclave.url}/healthz`)
    assert.equal(res.status, 200)
    assert.deepEqual(await res.json(), { status: 'ok' })
  })

  it('GET /attestation signs the measured bundle and the current box key', async () => {
    const pins = JSON.parse(readFileSync(join(stateDir, 'attestation.json'), 'utf8'))
    assert.deepEqual(Object.keys(pins).sort(), ['measurements', 'platform_jwk'])
    const nonce = base64url.encode(randomBytes(32))
    const res = await fetch(`${enclave.url}/attestation?nonce=${nonce}`)
    assert.equal(res.status, 200)
    const { attestation } = (await res.json()) as { attestation: string }
    const header = decodeProtectedHeader(attestation)
    assert.deepEqual(header, {
      alg: 'EdDSA',
      typ: 'dauth-attestation+jwt',
      kid: await calculateJwkThumbprint(pins.platform_jwk),
    })
    const doc = await verifyAttestation(attestation, {
      platformJwk: pins.platform_jwk,
      measurements: pins.measurements,
      nonce,
    })
    assert.equal(doc.debug, false)
    assert.equal(doc.v, 1)
    assert.equal(doc.nonce, nonce)
    // the measurement is SHA-384 of the exact bundle bytes the worker runs
    assert.match(doc.measurement, /^[A-Za-z0-9_-]{64}$/)
    assert.deepEqual(pins.measurements, [doc.measurement])
  })

  it('keeps private files 0600 and the public pins 0644', () => {
    const mode = (p: string): number => statSync(p).mode & 0o777
    assert.equal(mode(join(stateDir, 'enclave', 'platform.jwk.json')), 0o600)
    assert.equal(mode(join(stateDir, 'enclave', 'master.key')), 0o600)
    assert.equal(mode(join(stateDir, 'enclave', 'keys', 'keyring.json')), 0o600)
    assert.equal(mode(join(stateDir, 'attestation.json')), 0o644)
    const keyring = readFileSync(join(stateDir, 'enclave', 'keys', 'keyring.json'), 'utf8')
    const platform = JSON.parse(
      readFileSync(join(stateDir, 'enclave', 'platform.jwk.json'), 'utf8'),
    ) as { d: string }
    assert.equal(
      readFileSync(join(stateDir, 'attestation.json'), 'utf8').includes(platform.d),
      false,
    )
    assert.equal(keyring.includes('"secret_key"'), false, 'no unwrapped private key at rest')
  })

  it('refuses a missing or out-of-range attestation nonce', async () => {
    for (const q of [
      '',
      '?nonce=',
      `?nonce=${base64url.encode(randomBytes(8))}`,
      `?nonce=${base64url.encode(randomBytes(65))}`,
      '?nonce=a+b',
    ]) {
      const res = await fetch(`${enclave.url}/attestation${q}`)
      assert.equal(res.status, 400, q)
      assert.deepEqual(await res.json(), INVALID_REQUEST)
    }
  })

  it('answers 404 not_found for every other operation (fuzzed)', async () => {
    const cases: [string, string][] = [
      ['GET', '/'],
      ['POST', '/decrypt'],
      ['POST', '/open'],
      ['GET', '/keys'],
      ['POST', '/keys/export'],
      ['GET', '/dispatch'],
      ['PUT', '/dispatch'],
      ['DELETE', '/dispatch'],
      ['POST', '/dispatch/'],
      ['POST', '/DISPATCH'],
      ['POST', '/attestation'],
      ['GET', '/healthz/'],
      ['GET', '/%2e%2e/etc/passwd'],
      ['PATCH', '/metrics'],
      ['POST', `/${randomUUID()}`],
    ]
    for (const [method, path] of cases) {
      const res = await fetch(`${enclave.url}${path}`, { method })
      assert.equal(res.status, 404, `${method} ${path}`)
      assert.deepEqual(await res.json(), NOT_FOUND)
    }
  })
})

describe('dispatch: the four injections', () => {
  const cases: [string, CredentialInjection, string][] = [
    ['bearer', { type: 'bearer' }, 'bearer'],
    ['header', { type: 'header', name: 'X-Api-Key', template: '{secret}' }, 'header'],
    ['basic', { type: 'basic', username: 'alice' }, 'basic'],
    ['query', { type: 'query', name: 'api_key' }, 'query'],
  ]
  for (const [name, inject, via] of cases) {
    it(`${name}: the upstream receives exactly the sealed credential`, async () => {
      const record = connect(inject)
      const answer = await call(record, { method: 'GET', path: '/user' })
      assert.equal(answer.status, 200, answer.text)
      assert.deepEqual(Object.keys(answer.json).sort(), ['body', 'headers', 'status'])
      assert.equal(answer.json.status, 200)
      assert.deepEqual(upstreamBody(answer), {
        login: 'demo',
        host: upstream.host,
        via,
        credential_sha256: sha256b64url(CANARY),
      })
      // allow-listed response headers only
      assert.deepEqual(answer.json.headers, {
        'content-type': 'application/json',
        etag: '"v1"',
        'x-ratelimit-remaining': '42',
      })
    })
  }

  it('caller headers never replace the injected credential', async () => {
    const record = connect({ type: 'bearer' })
    const answer = await call(record, {
      method: 'GET',
      path: '/user',
      headers: {
        Authorization: 'Bearer attacker',
        'X-Api-Key': 'attacker',
        Cookie: 'a=b',
        Host: 'evil.example',
        'X-Trace': 'ok',
      },
    })
    assert.equal(answer.status, 200)
    assert.deepEqual(upstreamBody(answer), {
      login: 'demo',
      host: upstream.host,
      via: 'bearer',
      credential_sha256: sha256b64url(CANARY),
    })
    const seen = upstream.requests.at(-1)
    assert.equal(seen?.headers.cookie, undefined)
    assert.equal(seen?.headers['x-api-key'], undefined)
    assert.equal(seen?.headers['x-trace'], 'ok')
  })

  it('a caller query parameter cannot replace the query credential', async () => {
    const record = connect({ type: 'query', name: 'api_key' })
    const answer = await call(record, {
      method: 'GET',
      path: '/user',
      query: { api_key: 'attacker' },
    })
    assert.deepEqual(upstreamBody(answer).credential_sha256, sha256b64url(CANARY))
  })

  it('passes upstream error statuses through, and non-UTF-8 bodies as base64', async () => {
    const record = connect({ type: 'bearer' })
    const a = await call(record, { method: 'GET', path: '/status', query: { code: '500' } })
    assert.equal(a.status, 200)
    assert.equal(a.json.status, 500)
    const b = await call(record, { method: 'GET', path: '/binary' })
    assert.deepEqual(
      { body: b.json.body, body_encoding: b.json.body_encoding },
      { body: '//4AAQ==', body_encoding: 'base64' },
    )
  })
})

describe('dispatch: the credential stays with its host', () => {
  it('an upstream echo of the credential is redacted (body and allow-listed headers)', async () => {
    const record = connect({ type: 'header', name: 'x-api-key', template: '{secret}' })
    const answer = await call(record, { method: 'GET', path: '/echo' })
    assert.equal(answer.status, 200)
    const body = upstreamBody(answer) as { headers: Record<string, string> }
    assert.equal(body.headers['x-api-key'], '[REDACTED]')
    assert.equal(
      (answer.json.headers as Record<string, string>).link,
      '<https://api.example/next?token=[REDACTED]>; rel="next"',
    )
    assertNoCanary(answer.text, 'echo answer')
  })

  it('bearer and basic echoes are redacted too', async () => {
    for (const inject of [
      { type: 'bearer' },
      { type: 'basic', username: 'alice' },
    ] as CredentialInjection[]) {
      const answer = await call(connect(inject), { method: 'GET', path: '/echo' })
      const body = upstreamBody(answer) as { headers: Record<string, string> }
      assert.match(body.headers.authorization ?? '', /^(Bearer|Basic) \[REDACTED\]$/)
      assertNoCanary(answer.text, 'echo answer')
    }
  })

  it('a redirect to another host is returned, not followed', async () => {
    const record = connect({ type: 'header', name: 'x-api-key', template: '{secret}' })
    const before = upstream.requests.length
    const target = `https://localhost:${other.port}/user`
    const answer = await call(record, { method: 'GET', path: '/redirect', query: { to: target } })
    assert.equal(answer.status, 200)
    assert.equal(answer.json.status, 302)
    assert.deepEqual(answer.json.headers, { location: target })
    assert.equal(upstream.requests.length, before + 1)
    assert.equal(other.connections(), 0, 'the other host saw no connection at all')
  })

  const refusedHosts = (port: number): string[] => [
    'evil.example',
    `127.0.0.1:${port}`,
    '169.254.169.254',
    `localhost:${port}@evil.example`,
    `evil.example@localhost:${port}`,
    `localhost.:${port}`,
    `LOCALHOST:${port}`,
    `Localhost:${port}`,
    `lоcalhost:${port}`, // Cyrillic о
    `xn--lcalhost-9fg:${port}`,
    `localhost:${port + 1}`,
    `[::1]:${port}`,
  ]

  it('refuses hosts outside allowed_hosts and their spoofs; the upstream sees zero connections', async () => {
    const record = connect({ type: 'bearer' })
    const before = upstream.connections()
    for (const host of refusedHosts(upstream.port)) {
      const answer = await call(record, { method: 'GET', path: '/user', host })
      assert.equal(answer.status, 403, host)
      assert.deepEqual(answer.json, HOST_NOT_ALLOWED, host)
    }
    assert.equal(upstream.connections(), before)
  })

  it('refuses an IP literal or metadata address even inside allowed_hosts', async () => {
    const before = upstream.connections()
    for (const allowed of [
      `127.0.0.1:${upstream.port}`,
      '169.254.169.254',
      `LOCALHOST:${upstream.port}`,
    ]) {
      const record = connect({ type: 'bearer' }, { allowedHosts: [allowed] })
      const answer = await call(record, { method: 'GET', path: '/user' })
      assert.equal(answer.status, 403, allowed)
      assert.deepEqual(answer.json, HOST_NOT_ALLOWED)
    }
    assert.equal(upstream.connections(), before)
  })

  it('refuses a credential with CR/LF/NUL before any header is built', async () => {
    const before = upstream.connections()
    for (const secret of ['abc\r\nX-Evil: 1', 'abc\nx', 'abc\u0000x']) {
      const record = connect({ type: 'bearer' }, { secret: new TextEncoder().encode(secret) })
      const answer = await call(record, { method: 'GET', path: '/user' })
      assert.equal(answer.status, 404)
      assert.deepEqual(answer.json, HANDLE_UNAVAILABLE)
    }
    assert.equal(upstream.connections(), before)
  })
})

describe('dispatch: envelopes and bindings (one answer for all)', () => {
  it('another tenant cannot use a handle: same answer as an unknown handle', async () => {
    const alices = connect({ type: 'bearer' })
    // Bob's token carrying Alice's handle (a buggy or hostile AS)
    const a = await call(alices, { method: 'GET', path: '/user' }, 'bob')
    // Bob's token without it
    const bobToken = await dispatchToken(caller, 'bob', { demo: 'h_bobs' })
    const b = await send(bobToken, {
      handle: alices.handle,
      request: { method: 'GET', path: '/user' },
    })
    // unknown handle that the token does carry
    const c = await send(await dispatchToken(caller, 'alice', { demo: 'h_unknown' }), {
      handle: 'h_unknown',
      request: { method: 'GET', path: '/user' },
    })
    for (const answer of [a, b, c]) {
      assert.equal(answer.status, 404)
      assert.equal(answer.text, JSON.stringify(HANDLE_UNAVAILABLE))
    }
  })

  it('a ciphertext transplanted to another connection or tenant is refused', async () => {
    const source = connect({ type: 'bearer' })
    const sameOwner = connect({ type: 'bearer' })
    const bobs = addConnection(as, {
      sub: 'bob',
      secret: new TextEncoder().encode('bob-secret'),
      inject: { type: 'bearer' },
      allowedHosts: [upstream.host],
      recipient,
    })
    for (const target of [sameOwner, bobs]) {
      as.records.set(target.handle, { ...target, envelope: source.envelope })
      const answer = await call(target, { method: 'GET', path: '/user' }, target.owner.sub)
      assert.equal(answer.status, 404)
      assert.equal(answer.text, JSON.stringify(HANDLE_UNAVAILABLE))
    }
  })

  it('a plaintext whose upload_nonce or issuer does not match is refused', async () => {
    const nonce = connect(
      { type: 'bearer' },
      { binding: { upload_nonce: 'different-nonce-value' } },
    )
    const issuer = connect(
      { type: 'bearer' },
      { binding: { owner: { iss: 'https://other-as.example', sub: 'alice' } } },
    )
    for (const record of [nonce, issuer]) {
      const answer = await call(record, { method: 'GET', path: '/user' })
      assert.equal(answer.text, JSON.stringify(HANDLE_UNAVAILABLE))
    }
  })

  it('tampered ciphertexts (epk, tag, body, lengths 0/31/47) and an unknown kid give one generic error', async () => {
    const record = connect({ type: 'bearer' })
    const ct = base64url.decode(record.envelope.ct)
    const flip = (i: number): string => {
      const copy = new Uint8Array(ct)
      copy[i] = (copy[i] ?? 0) ^ 0x01
      return base64url.encode(copy)
    }
    const variants = [
      flip(0),
      flip(32),
      flip(47),
      flip(ct.length - 1),
      '',
      base64url.encode(ct.subarray(0, 31)),
      base64url.encode(ct.subarray(0, 47)),
    ]
    for (const variant of variants) {
      as.records.set(record.handle, { ...record, envelope: { ...record.envelope, ct: variant } })
      const answer = await call(record, { method: 'GET', path: '/user' })
      assert.equal(answer.status, 404)
      assert.equal(answer.text, JSON.stringify(HANDLE_UNAVAILABLE))
    }
    as.records.set(record.handle, {
      ...record,
      envelope: { ...record.envelope, kid: 'x25519-unknownkid0000' },
    })
    const unknownKid = await call(record, { method: 'GET', path: '/user' })
    assert.equal(unknownKid.text, JSON.stringify(HANDLE_UNAVAILABLE))
  })

  it('a revoked connection (gone from the AS) is refused', async () => {
    const record = connect({ type: 'bearer' })
    assert.equal((await call(record, { method: 'GET', path: '/user' })).status, 200)
    as.records.delete(record.handle)
    const answer = await call(record, { method: 'GET', path: '/user' })
    assert.equal(answer.text, JSON.stringify(HANDLE_UNAVAILABLE))
  })
})

describe('dispatch: token and DPoP checks', () => {
  let record: StoredRecord
  before(() => {
    record = connect({ type: 'bearer' })
  })
  const body = (): unknown => ({ handle: record.handle, request: { method: 'GET', path: '/user' } })

  function expect401(answer: DispatchAnswer, label: string): void {
    assert.equal(answer.status, 401, label)
    assert.deepEqual(answer.json, INVALID_TOKEN, label)
    assert.equal(answer.headers.get('www-authenticate'), CHALLENGE, label)
  }

  it('refuses a replayed dispatch request (same proof jti)', async () => {
    const token = await dispatchToken(caller, 'alice', { demo: record.handle })
    const proof = await createDpopProof(caller.key, {
      htm: 'POST',
      htu: `${caller.enclaveUrl}/dispatch`,
      accessToken: token,
    })
    const first = await send(token, body(), { proof })
    assert.equal(first.status, 200)
    // The envelope read may run alongside the jti check, but a replay never gets further.
    const upstreamRequests = upstream.requests.length
    expect401(await send(token, body(), { proof }), 'replay')
    assert.equal(upstream.requests.length, upstreamRequests)
  })

  it('refuses bad tokens', async () => {
    const now = Math.floor(Date.now() / 1000)
    const claims = { demo: record.handle }
    const cases: [string, string][] = [
      [
        'wrong aud',
        await dispatchToken(caller, 'alice', claims, { aud: `${as.issuer}/connections` }),
      ],
      ['wrong iss', await dispatchToken(caller, 'alice', claims, { iss: 'https://evil.example' })],
      ['expired', await dispatchToken(caller, 'alice', claims, { iat: now - 600, exp: now - 300 })],
      [
        'iat in the future',
        await dispatchToken(caller, 'alice', claims, { iat: now + 3600, exp: now + 3660 }),
      ],
      ['no cnf', await dispatchToken(caller, 'alice', claims, { cnf: undefined })],
      [
        'typ JWT',
        await as.signToken(
          {
            iss: as.issuer,
            sub: 'alice',
            aud: caller.enclaveUrl,
            iat: now,
            exp: now + 60,
            connections: claims,
            cnf: { jkt: caller.key.jkt },
          },
          { typ: 'JWT' },
        ),
      ],
    ]
    const { privateKey: stranger } = await generateKeyPair('ES256')
    cases.push([
      'bad signature',
      await as.signToken(
        {
          iss: as.issuer,
          sub: 'alice',
          aud: caller.enclaveUrl,
          iat: now,
          exp: now + 60,
          connections: claims,
          cnf: { jkt: caller.key.jkt },
        },
        { key: stranger },
      ),
    ])
    const hs = await new SignJWT({
      iss: as.issuer,
      sub: 'alice',
      aud: caller.enclaveUrl,
      connections: claims,
      cnf: { jkt: caller.key.jkt },
    })
      .setProtectedHeader({ alg: 'HS256', typ: 'at+jwt', kid: 'as-key-1' })
      .setIssuedAt()
      .setExpirationTime('60s')
      .sign(new TextEncoder().encode('a-shared-secret-of-at-least-32-bytes!!'))
    cases.push(['HS256', hs])
    const none = `${base64url.encode(new TextEncoder().encode('{"alg":"none","typ":"at+jwt"}'))}.${base64url.encode(new TextEncoder().encode(JSON.stringify({ iss: as.issuer, sub: 'alice', aud: caller.enclaveUrl, exp: now + 60, iat: now, connections: claims, cnf: { jkt: caller.key.jkt } })))}.`
    cases.push(['alg none', none])
    for (const [label, token] of cases) expect401(await send(token, body()), label)
  })

  it('refuses bad proofs and wrong schemes', async () => {
    const token = await dispatchToken(caller, 'alice', { demo: record.handle })
    const htu = `${caller.enclaveUrl}/dispatch`
    const otherKey = await generateDpopKeyPair('ES256')
    const cases: [string, Parameters<typeof dispatch>[3]][] = [
      [
        'proof by another key',
        { proof: await createDpopProof(otherKey, { htm: 'POST', htu, accessToken: token }) },
      ],
      [
        'wrong htm',
        { proof: await createDpopProof(caller.key, { htm: 'GET', htu, accessToken: token }) },
      ],
      [
        'wrong htu',
        {
          proof: await createDpopProof(caller.key, {
            htm: 'POST',
            htu: `${caller.enclaveUrl}/other`,
            accessToken: token,
          }),
        },
      ],
      ['no ath', { proof: await createDpopProof(caller.key, { htm: 'POST', htu }) }],
      [
        'wrong ath',
        {
          proof: await createDpopProof(caller.key, { htm: 'POST', htu, accessToken: `${token}x` }),
        },
      ],
      [
        'stale iat',
        {
          proof: await createDpopProof(caller.key, {
            htm: 'POST',
            htu,
            accessToken: token,
            iat: Math.floor(Date.now() / 1000) - 3600,
          }),
        },
      ],
      ['garbage proof', { proof: 'not.a.jwt' }],
    ]
    const envelopeReads = as.counts.envelopes
    for (const [label, options] of cases) expect401(await send(token, body(), options), label)
    // the envelope is read only for a proof that passed every check but the jti one
    assert.equal(as.counts.envelopes, envelopeReads)
    // scheme checks
    const proof = await createDpopProof(caller.key, { htm: 'POST', htu, accessToken: token })
    for (const authorization of [`Bearer ${token}`, token, `DPoP ${token}, DPoP ${token}`]) {
      const res = await fetch(`${caller.url}/dispatch`, {
        method: 'POST',
        headers: { authorization, dpop: proof },
        body: JSON.stringify(body()),
      })
      assert.equal(res.status, 401, authorization.slice(0, 10))
      assert.deepEqual(await res.json(), INVALID_TOKEN)
    }
    const noProof = await fetch(`${caller.url}/dispatch`, {
      method: 'POST',
      headers: { authorization: `DPoP ${token}` },
      body: JSON.stringify(body()),
    })
    assert.equal(noProof.status, 401)
  })

  it('a flood of unknown kids does not hammer the JWKS endpoint', async () => {
    const before = as.counts.jwks
    for (let i = 0; i < 10; i++) {
      const now = Math.floor(Date.now() / 1000)
      const token = await as.signToken(
        {
          iss: as.issuer,
          sub: 'alice',
          aud: caller.enclaveUrl,
          iat: now,
          exp: now + 60,
          connections: { demo: record.handle },
          cnf: { jkt: caller.key.jkt },
        },
        { kid: `unknown-${i}` },
      )
      expect401(await send(token, body()), `unknown kid ${i}`)
    }
    assert.ok(as.counts.jwks - before <= 1, `JWKS fetched ${as.counts.jwks - before} times`)
  })
})

describe('dispatch: request validation and limits', () => {
  let record: StoredRecord
  before(() => {
    record = connect({ type: 'bearer' })
  })

  it('refuses malformed requests with 400 invalid_request', async () => {
    const requests: unknown[] = [
      'not json',
      { handle: record.handle },
      { handle: record.handle, request: { method: 'GET', path: '//evil.example/x' } },
      { handle: record.handle, request: { method: 'GET', path: 'user' } },
      { handle: record.handle, request: { method: 'TRACE', path: '/' } },
      {
        handle: record.handle,
        request: { method: 'GET', path: '/', headers: { 'x-a': 'a\r\nx-b: c' } },
      },
      { handle: record.handle, request: { method: 'GET', path: '/' }, operation: 'decrypt' },
    ]
    for (const request of requests) {
      const token = await dispatchToken(caller, 'alice', { demo: record.handle })
      const answer = await send(token, request)
      assert.equal(answer.status, 400, JSON.stringify(request))
      assert.deepEqual(answer.json, INVALID_REQUEST)
    }
  })

  it('refuses a request body over 1 MiB', async () => {
    const token = await dispatchToken(caller, 'alice', { demo: record.handle })
    const big = {
      handle: record.handle,
      request: { method: 'POST', path: '/user', body: 'x'.repeat(1024 * 1024) },
    }
    const answer = await send(token, big)
    assert.equal(answer.status, 400)
    assert.deepEqual(answer.json, INVALID_REQUEST)
  })

  it('maps a slow upstream to 504 upstream_timeout', async () => {
    const answer = await call(record, { method: 'GET', path: '/slow', query: { ms: '9000' } })
    assert.equal(answer.status, 504)
    assert.deepEqual(answer.json, {
      error: 'upstream_timeout',
      error_description: 'The upstream did not answer in time',
    })
  })

  it('maps a body over 10 MiB to 502 response_too_large', async () => {
    const answer = await call(record, {
      method: 'GET',
      path: '/big',
      query: { bytes: String(10 * 1024 * 1024 + 1) },
    })
    assert.equal(answer.status, 502)
    assert.deepEqual(answer.json, {
      error: 'response_too_large',
      error_description: 'The upstream response is too large',
    })
    const ok = await call(record, { method: 'GET', path: '/big', query: { bytes: '1000' } })
    assert.equal(ok.json.body, 'a'.repeat(1000))
  })

  it('maps a closed port to 502 upstream_unreachable', async () => {
    const closed = connect({ type: 'bearer' }, { allowedHosts: ['localhost:1'] })
    const answer = await call(closed, { method: 'GET', path: '/user' })
    assert.equal(answer.status, 502)
    assert.deepEqual(answer.json, {
      error: 'upstream_unreachable',
      error_description: 'The upstream could not be reached',
    })
  })
})

describe('worker process', () => {
  it('runs under the permission model: it cannot read outside its own folder', async () => {
    for (const path of [
      join(stateDir, 'enclave', 'master.key'),
      join(stateDir, 'enclave', 'platform.jwk.json'),
      keyFile,
      '/etc/hostname',
    ]) {
      const res = await fetch(`${enclave.url}/__test/read-file`, {
        method: 'POST',
        body: JSON.stringify({ path }),
      })
      assert.deepEqual(await res.json(), { outcome: 'ERR_ACCESS_DENIED' }, path)
    }
  })

  it('has no core dumps, no secrets in its environment, no child-process or worker permission, and drops root', async () => {
    const { pid } = (await (
      await fetch(`${enclave.url}/__test/worker`, { method: 'POST' })
    ).json()) as { pid: number }
    const limits = readFileSync(`/proc/${pid}/limits`, 'utf8')
    assert.match(limits, /Max core file size\s+0\s+0\s+bytes/)
    const environ = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').filter(Boolean)
    assert.ok(
      environ.every((e) => !e.startsWith('DAUTH_')),
      'no DAUTH_* variable reaches the worker',
    )
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')
    assert.ok(cmdline.includes('--permission'))
    assert.ok(cmdline.includes(`--max-semi-space-size=${WORKER_MAX_SEMI_SPACE_MIB}`))
    assert.ok(
      !cmdline.some(
        (a) =>
          a.startsWith('--allow-child-process') ||
          a.startsWith('--allow-worker') ||
          a.startsWith('--allow-fs-write'),
      ),
    )
    assert.equal(cmdline.filter((a) => a.startsWith('--allow-fs-read=')).length, 2)
    if (process.getuid?.() === 0) {
      const status = readFileSync(`/proc/${pid}/status`, 'utf8')
      assert.match(status, /^Uid:\s+65534\s+65534\s+65534\s+65534$/m)
    }
  })

  it('keeps a bounded young generation under sustained dispatch (the soak RSS growth)', async () => {
    // Without the launcher's --max-semi-space-size, V8 doubled the worker's young generation
    // under this load (new space 32 MiB after ~1,000 dispatches, 64 MiB after ~2,000, 128 MiB
    // after ~4,000) while the live heap stayed at ~15 MiB: RSS growth with nothing retained.
    const record = connect({ type: 'bearer' })
    const token = await dispatchToken(caller, 'alice', { demo: record.handle })
    const body = { handle: record.handle, request: { method: 'GET', path: '/user' } }
    const memory = async (): Promise<Record<string, number>> => {
      const res = await fetch(`${enclave.url}/__test/memory`, { method: 'POST' })
      assert.equal(res.status, 200)
      return (await res.json()) as Record<string, number>
    }
    assert.equal((await dispatch(caller, token, body)).status, 200)
    const poolsBefore = (await memory()).upstreamAgents
    const statuses = new Map<number, number>()
    let left = 2500
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        while (left-- > 0) {
          const { status } = await dispatch(caller, token, body)
          statuses.set(status, (statuses.get(status) ?? 0) + 1)
        }
      }),
    )
    assert.deepEqual([...statuses], [[200, 2500]])
    const gc = await fetch(`${enclave.url}/__test/gc`, { method: 'POST' })
    assert.deepEqual(await gc.json(), { gc: true })
    const after = await memory()
    for (const field of ['rss', 'heapTotal', 'heapUsed', 'external', 'arrayBuffers'])
      assert.equal(typeof after[field], 'number', field)
    assert.equal(after.upstreamAgents, poolsBefore, 'the upstream keep-alive pool is reused')
    const youngGeneration = after.space_new_space ?? Number.NaN
    assert.ok(
      youngGeneration <= 2 * WORKER_MAX_SEMI_SPACE_MIB * 1024 * 1024,
      `young generation ${youngGeneration} bytes`,
    )
  })

  it('a crash mid-request gives a clean 503, the worker restarts and the next request succeeds', async () => {
    const record = connect({ type: 'bearer' })
    const { pid: before } = (await (
      await fetch(`${enclave.url}/__test/worker`, { method: 'POST' })
    ).json()) as { pid: number }
    const armed = await fetch(`${enclave.url}/__test/crash-next-dispatch`, { method: 'POST' })
    assert.deepEqual(await armed.json(), { armed: true })
    const crashed = await call(record, { method: 'GET', path: '/user' })
    assert.equal(crashed.status, 503)
    assert.deepEqual(crashed.json, {
      error: 'temporarily_unavailable',
      error_description: 'The enclave is temporarily unavailable',
    })
    const next = await call(record, { method: 'GET', path: '/user' })
    assert.equal(next.status, 200)
    const { pid: afterPid } = (await (
      await fetch(`${enclave.url}/__test/worker`, { method: 'POST' })
    ).json()) as { pid: number }
    assert.notEqual(afterPid, before)
    const metrics = await (await fetch(`${enclave.url}/metrics`)).text()
    assert.match(metrics, /^dauth_enclave_worker_restarts_total 1$/m)
    assert.match(metrics, /^dauth_enclave_dispatch_total\{status="503"\} 1$/m)
    assert.match(metrics, /^dauth_enclave_worker_up 1$/m)
  })
})

describe('key rotation', () => {
  it('old kids keep opening until retired; a retired kid is refused', async () => {
    const env = { ...process.env, DAUTH_STATE_DIR: stateDir }
    const oldRecord = connect({ type: 'bearer' })
    const rotated = JSON.parse(
      execFileSync(process.execPath, [CLI, 'rotate-keys'], { env, encoding: 'utf8' }),
    ) as { current: string; previous: string }
    assert.equal(rotated.previous, recipient.kid)
    const fresh = await attestedKey(enclave.url, stateDir)
    assert.equal(fresh.kid, rotated.current)
    const newRecord = connect({ type: 'bearer' }, { recipient: fresh })
    assert.equal((await call(oldRecord, { method: 'GET', path: '/user' })).status, 200)
    assert.equal((await call(newRecord, { method: 'GET', path: '/user' })).status, 200)
    // the current key cannot be retired
    assert.throws(() =>
      execFileSync(process.execPath, [CLI, 'retire-key', rotated.current], { env, stdio: 'pipe' }),
    )
    execFileSync(process.execPath, [CLI, 'retire-key', rotated.previous], { env })
    const refused = await call(oldRecord, { method: 'GET', path: '/user' })
    assert.equal(refused.status, 404)
    assert.equal(refused.text, JSON.stringify(HANDLE_UNAVAILABLE))
    assert.equal((await call(newRecord, { method: 'GET', path: '/user' })).status, 200)
    recipient = fresh
  })
})

describe('canary: the secret never leaves', () => {
  it('is absent from a heap snapshot of the worker after GC', async () => {
    const path = join(dir, 'worker.heapsnapshot')
    const res = await fetch(`${enclave.url}/__test/heap-snapshot`, {
      method: 'POST',
      body: JSON.stringify({ path }),
    })
    const result = (await res.json()) as { done: boolean; bytes: number }
    assert.equal(result.done, true)
    const snapshot = readFileSync(path, 'latin1')
    // positive control: strings the worker does hold are visible in the snapshot
    assert.ok(snapshot.includes(as.issuer), 'snapshot contains the issuer string')
    assertNoCanary(snapshot, 'heap snapshot')
  })

  it('SIGTERM closes launcher and worker cleanly (exit 0)', async () => {
    const { pid } = (await (
      await fetch(`${enclave.url}/__test/worker`, { method: 'POST' })
    ).json()) as { pid: number }
    assert.equal(await enclave.stop(), 0)
    assert.throws(() => process.kill(pid, 0), 'the worker is gone too')
  })

  it('is absent from every answer and from the launcher and worker stdout/stderr', () => {
    assert.ok(answers.length > 50)
    for (const text of answers) assertNoCanary(text, 'dispatch answer')
    const output = enclave.output()
    assert.match(output, /"msg":"listening"/)
    // per-dispatch lines (status, error and reason codes from the worker's result)
    assert.match(output, /"msg":"dispatch","reqId":"[0-9a-f-]{36}","status":200,"ms":\d+\}/)
    assert.match(
      output,
      /"msg":"dispatch","reqId":"[0-9a-f-]{36}","status":403,"ms":\d+,"error":"host_not_allowed","reason":"host_ip_literal"\}/,
    )
    assertNoCanary(output, 'process output')
  })
})
