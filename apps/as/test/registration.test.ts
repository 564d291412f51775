import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import * as client from 'openid-client'
import { calculateJwkThumbprint } from '@dauth/protocol'
import {
  ALICE,
  MCP_RESOURCE,
  clientCredentialsToken,
  decode,
  dpopRequest,
  generateDpopKeyPair,
  startTestServer,
} from './helpers.ts'
import { SqliteStorage } from '../src/storage/sqlite.ts'
import { loadSigningKeys, MAX_SIGNING_KEYS, rotateSigningKeys } from '../src/keys.ts'
import { issueInitialAccessToken } from '../src/admin.ts'
import { createAccount, verifyPassword } from '../src/accounts/passwords.ts'

describe('dynamic client registration with openid-client as the relying party', () => {
  test('DAUTH_DEV: open DCR of a DPoP-bound client_credentials client, then a DPoP token', async () => {
    const server = await startTestServer({ dev: true })
    try {
      const config = await client.dynamicClientRegistration(
        new URL(server.url),
        {
          token_endpoint_auth_method: 'client_secret_basic',
          grant_types: ['client_credentials'],
          response_types: [],
          redirect_uris: [],
          dpop_bound_access_tokens: true,
        },
        undefined,
        { execute: [client.allowInsecureRequests], algorithm: 'oauth2' },
      )
      const metadata = config.clientMetadata()
      assert.equal(typeof metadata.client_id, 'string')
      assert.equal(typeof metadata.client_secret, 'string')
      assert.equal(config.serverMetadata().issuer, server.url)
      const keyPair = await client.randomDPoPKeyPair('ES256')
      const DPoP = client.getDPoPHandle(config, keyPair)
      const tokens = await client.clientCredentialsGrant(
        config,
        { resource: MCP_RESOURCE, scope: 'read' },
        { DPoP },
      )
      assert.equal(tokens.token_type, 'dpop')
      const { header, claims } = decode(tokens.access_token)
      assert.equal(header.typ, 'at+jwt')
      assert.equal(claims.sub, metadata.client_id)
      assert.equal(claims.client_id, metadata.client_id)
      assert.equal(claims.aud, MCP_RESOURCE)
      assert.equal(claims.scope, 'read')
      const jkt = await calculateJwkThumbprint(
        await crypto.subtle.exportKey('jwk', keyPair.publicKey),
      )
      assert.deepEqual(claims.cnf, { jkt })
    } finally {
      await server.close()
    }
  })

  test('DCR refuses http redirect URIs on non-loopback hosts', async () => {
    const server = await startTestServer({ dev: true })
    try {
      const register = (redirect: string) =>
        fetch(`${server.url}/oauth/register`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ redirect_uris: [redirect], token_endpoint_auth_method: 'none' }),
        })
      const evil = await register('http://evil.example/cb')
      assert.equal(evil.status, 400)
      assert.deepEqual(await evil.json(), {
        error: 'invalid_redirect_uri',
        error_description: 'redirect_uris using http must use a loopback host',
      })
      const loopback = await register('http://127.0.0.1:5555/cb')
      assert.equal(loopback.status, 201)
      // DPoP-bound by default when the client does not say otherwise.
      assert.equal(
        ((await loopback.json()) as { dpop_bound_access_tokens?: boolean })
          .dpop_bound_access_tokens,
        true,
      )
      assert.equal((await register('https://app.example/cb')).status, 201)
    } finally {
      await server.close()
    }
  })

  test('without DAUTH_DEV, registration requires an initial access token', async () => {
    const server = await startTestServer({ dev: false })
    try {
      const res = await fetch(`${server.url}/oauth/register`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          grant_types: ['client_credentials'],
          response_types: [],
          redirect_uris: [],
        }),
      })
      assert.equal(res.status, 401)
      assert.equal(((await res.json()) as { error: string }).error, 'invalid_token')

      // The admin path: an initial access token issued against the same storage.
      const storage = new SqliteStorage(join(server.stateDir, 'as.sqlite'))
      const iat = await issueInitialAccessToken(storage, server.url, 600)
      await storage.close()
      const withToken = await fetch(`${server.url}/oauth/register`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${iat}` },
        body: JSON.stringify({
          grant_types: ['client_credentials'],
          response_types: [],
          redirect_uris: [],
        }),
      })
      assert.equal(withToken.status, 201)
    } finally {
      await server.close()
    }
  })
})

describe('persistence', () => {
  test('signing keys survive a restart: same kid, tokens still verify against the JWKS', async () => {
    const stateDir = mkdtempSync(join(tmpdir(), 'dauth-as-'))
    try {
      const first = await startTestServer({ stateDir })
      const jwks1 = await (await fetch(`${first.url}/oauth/jwks`)).json()
      await first.close()
      const second = await startTestServer({ stateDir })
      const jwks2 = await (await fetch(`${second.url}/oauth/jwks`)).json()
      await second.close()
      assert.deepEqual(jwks2, jwks1)
      assert.equal((jwks1 as { keys: unknown[] }).keys.length, 1)
    } finally {
      rmSync(stateDir, { recursive: true, force: true })
    }
  })

  test('signing key rotation: new kid signs, old tokens keep verifying until retired', async () => {
    const stateDir = mkdtempSync(join(tmpdir(), 'dauth-as-'))
    try {
      const first = await startTestServer({ stateDir })
      const key = await generateDpopKeyPair()
      const vault = `${first.url}/connections`
      const oldToken = await clientCredentialsToken(first, ALICE, key, vault, 'connections:read')
      const oldKid = decode(oldToken).header.kid
      await first.close()

      const storage = new SqliteStorage(join(stateDir, 'as.sqlite'))
      const newKid = await rotateSigningKeys(storage.meta)
      await storage.close()
      assert.notEqual(newKid, oldKid)

      const second = await startTestServer({ stateDir, issuer: first.url, port: first.port })
      try {
        const jwks = (await (await fetch(`${second.url}/oauth/jwks`)).json()) as {
          keys: { kid: string }[]
        }
        assert.deepEqual(
          jwks.keys.map((k) => k.kid),
          [newKid, oldKid],
        )
        const newToken = await clientCredentialsToken(second, ALICE, key, vault, 'connections:read')
        assert.equal(decode(newToken).header.kid, newKid)
        assert.equal((await dpopRequest(vault, 'GET', oldToken, key)).status, 200)
        assert.equal((await dpopRequest(vault, 'GET', newToken, key)).status, 200)
      } finally {
        await second.close()
      }
    } finally {
      rmSync(stateDir, { recursive: true, force: true })
    }
  })
})

describe('signing key rotation without a restart', () => {
  const kidsOf = async (url: string): Promise<string[]> =>
    ((await (await fetch(`${url}/oauth/jwks`)).json()) as { keys: { kid: string }[] }).keys.map(
      (k) => k.kid,
    )

  test('a running instance picks up a rotation on its next reload; old tokens keep working', async () => {
    const stateDir = mkdtempSync(join(tmpdir(), 'dauth-as-'))
    const server = await startTestServer({ stateDir, keysReloadSeconds: 3600 })
    const storage = new SqliteStorage(join(stateDir, 'as.sqlite'))
    try {
      const key = await generateDpopKeyPair()
      const vault = `${server.url}/connections`
      const oldToken = await clientCredentialsToken(server, ALICE, key, vault, 'connections:read')
      const oldKid = decode(oldToken).header.kid as string
      const newKid = await rotateSigningKeys(storage.meta)

      // Stored, but not yet read by the instance: it still signs and publishes the old set.
      const before = await clientCredentialsToken(server, ALICE, key, vault, 'connections:read')
      assert.equal(decode(before).header.kid, oldKid)
      assert.deepEqual(await kidsOf(server.url), [oldKid])

      assert.equal(await server.reloadSigningKeys(), newKid)
      assert.deepEqual(await kidsOf(server.url), [newKid, oldKid])
      const newToken = await clientCredentialsToken(server, ALICE, key, vault, 'connections:read')
      assert.equal(decode(newToken).header.kid, newKid)
      // The instance's own checks (vault) know both keys.
      assert.equal((await dpopRequest(vault, 'GET', oldToken, key)).status, 200)
      assert.equal((await dpopRequest(vault, 'GET', newToken, key)).status, 200)
      // Nothing changed since: a reload keeps the same keys.
      assert.equal(await server.reloadSigningKeys(), newKid)
    } finally {
      await storage.close()
      await server.close()
      rmSync(stateDir, { recursive: true, force: true })
    }
  })

  test('the reload timer applies a rotation by itself', async () => {
    const stateDir = mkdtempSync(join(tmpdir(), 'dauth-as-'))
    const server = await startTestServer({ stateDir, keysReloadSeconds: 1 })
    const storage = new SqliteStorage(join(stateDir, 'as.sqlite'))
    try {
      const [oldKid] = await kidsOf(server.url)
      const newKid = await rotateSigningKeys(storage.meta)
      // Waits for the event (bounded), asserts nothing about how long it took.
      let kids = await kidsOf(server.url)
      for (let i = 0; i < 100 && kids[0] !== newKid; i++) {
        await new Promise((resolve) => setTimeout(resolve, 100))
        kids = await kidsOf(server.url)
      }
      assert.deepEqual(kids, [newKid, oldKid])
    } finally {
      await storage.close()
      await server.close()
      rmSync(stateDir, { recursive: true, force: true })
    }
  })

  test('a staged key is published at once and signs only from its activation time', async () => {
    const stateDir = mkdtempSync(join(tmpdir(), 'dauth-as-'))
    let clock = Math.floor(Date.now() / 1000)
    const now = (): number => clock
    const server = await startTestServer({ stateDir, keysReloadSeconds: 3600, now })
    const storage = new SqliteStorage(join(stateDir, 'as.sqlite'))
    try {
      const key = await generateDpopKeyPair()
      const vault = `${server.url}/connections`
      const [oldKid] = await kidsOf(server.url)
      const staged = await rotateSigningKeys(storage.meta, { activateAfterSeconds: 120, now })
      await server.reloadSigningKeys()
      // Published (every resource server can learn it), but the old key still signs.
      assert.deepEqual(await kidsOf(server.url), [oldKid, staged])
      const during = await clientCredentialsToken(server, ALICE, key, vault, 'connections:read')
      assert.equal(decode(during).header.kid, oldKid)

      // 121 s on: still inside the DPoP proof age window (300 s) of the real-time proofs below.
      clock += 121
      assert.equal(await server.reloadSigningKeys(), staged)
      assert.deepEqual(await kidsOf(server.url), [staged, oldKid])
      const after = await clientCredentialsToken(server, ALICE, key, vault, 'connections:read')
      assert.equal(decode(after).header.kid, staged)
      assert.equal((await dpopRequest(vault, 'GET', during, key)).status, 200)
    } finally {
      await storage.close()
      await server.close()
      rmSync(stateDir, { recursive: true, force: true })
    }
  })

  test('staged keys never push the key that signs out of the set', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dauth-as-keys-'))
    const storage = new SqliteStorage(join(dir, 'as.sqlite'))
    try {
      const now = (): number => 1_800_000_000
      const signing = (await loadSigningKeys(storage.meta, now)).current.kid
      const staged: string[] = []
      for (let i = 0; i < MAX_SIGNING_KEYS + 1; i++) {
        staged.push(await rotateSigningKeys(storage.meta, { activateAfterSeconds: 60, now }))
      }
      const keys = await loadSigningKeys(storage.meta, now)
      assert.equal(keys.current.kid, signing)
      assert.equal(keys.publicJwks.keys.length, MAX_SIGNING_KEYS)
      assert.deepEqual(
        keys.publicJwks.keys.map((k) => k.kid),
        [signing, ...staged.toReversed().slice(0, MAX_SIGNING_KEYS - 1)],
      )
      // The staged keys' activation time is kept: one second before it the old key signs, at
      // it the newest staged key does.
      assert.equal((await loadSigningKeys(storage.meta, () => 1_800_000_059)).current.kid, signing)
      assert.equal(
        (await loadSigningKeys(storage.meta, () => 1_800_000_060)).current.kid,
        staged.at(-1),
      )
      await assert.rejects(
        rotateSigningKeys(storage.meta, { activateAfterSeconds: -1 }),
        RangeError,
      )
    } finally {
      await storage.close()
      rmSync(dir, { recursive: true, force: true })
    }
  })
})

describe('accounts', () => {
  test('createAccount stores an scrypt hash that verifies; refuses duplicates and weak passwords', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dauth-as-acct-'))
    const storage = new SqliteStorage(join(dir, 'as.sqlite'))
    try {
      const created = await createAccount(storage.accounts, 'carol', 'correct horse')
      assert.equal(created.ok, true)
      const record = await storage.accounts.findByUsername('carol')
      assert.match(
        record!.passwordHash,
        /^scrypt\$16384\$8\$1\$[A-Za-z0-9_-]{22}\$[A-Za-z0-9_-]{43}$/,
      )
      assert.equal(await verifyPassword('correct horse', record!.passwordHash), true)
      assert.equal(await verifyPassword('correct horsE', record!.passwordHash), false)
      assert.deepEqual(await createAccount(storage.accounts, 'carol', 'another pass'), {
        ok: false,
        reason: 'username_taken',
      })
      assert.deepEqual(await createAccount(storage.accounts, 'dave', 'short'), {
        ok: false,
        reason: 'weak_password',
      })
      assert.deepEqual(await createAccount(storage.accounts, 'Bad Name', 'long enough'), {
        ok: false,
        reason: 'invalid_username',
      })
    } finally {
      await storage.close()
      rmSync(dir, { recursive: true, force: true })
    }
  })
})

describe('state folder', () => {
  test('the embedded database (private signing keys) is owner-only', async () => {
    const { statSync } = await import('node:fs')
    const server = await startTestServer()
    try {
      for (const file of ['as.sqlite', 'as.sqlite-wal']) {
        assert.equal(statSync(join(server.stateDir, file)).mode & 0o777, 0o600, file)
      }
    } finally {
      await server.close()
    }
  })
})
