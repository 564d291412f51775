// `dauth connections list|revoke` against a real stack, on node:sqlite and on PostgreSQL: the
// listing shows metadata and no envelope byte, and a revocation by the CLI is refused by the
// running AS exactly like the owner's DELETE (token exchange and the enclave's envelope fetch).
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import pg from 'pg'
import { configFromEnv } from '@dauth/as'
import { openStorage } from '@dauth/as/admin'
import {
  type DemoFlowResult,
  runDemoFlow,
  runNodeScript,
  type ScriptRun,
  type Stack,
  startStack,
} from '@dauth/devkit'
import { createDpopProof, type DpopKeyPair, generateDpopKeyPair } from '@dauth/protocol'

const MAIN = join(import.meta.dirname, '..', 'src', 'main.ts')
const ADMIN_URL = 'postgres://postgres@127.0.0.1:5432/postgres'

function dauth(args: string[], env: Record<string, string>): Promise<ScriptRun> {
  return runNodeScript(MAIN, { args, env })
}

async function postgresDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `dauth_cli_test_${randomBytes(6).toString('hex')}`
  const admin = new pg.Client({ connectionString: ADMIN_URL })
  await admin.connect()
  await admin.query(`CREATE DATABASE ${name}`)
  await admin.end()
  return {
    url: `postgres://postgres@127.0.0.1:5432/${name}`,
    drop: async () => {
      const c = new pg.Client({ connectionString: ADMIN_URL })
      await c.connect()
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
      await c.end()
    },
  }
}

interface Fixture {
  stack: Stack
  /** what `dauth` runs with: the stack's state folder and storage */
  env: Record<string, string>
  flow: DemoFlowResult
}

async function tokenEndpoint(issuer: string): Promise<string> {
  const metadata = (await (
    await fetch(`${issuer}/.well-known/oauth-authorization-server`)
  ).json()) as { token_endpoint: string }
  return metadata.token_endpoint
}

const basic = (id: string, secret: string): string =>
  `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`

/** The flow client's DPoP-bound token for the MCP server: it carries `{demo: handle}`. */
async function subjectToken(f: Fixture): Promise<string> {
  const endpoint = await tokenEndpoint(f.stack.issuer)
  const key = await generateDpopKeyPair()
  const res = await fetch(endpoint, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: basic(f.flow.clientId, f.flow.clientSecret),
      dpop: await createDpopProof(key, { htm: 'POST', htu: endpoint }),
    },
    body: new URLSearchParams({
      grant_type: 'client_credentials',
      resource: f.stack.mcpUrl,
      scope: 'read api:call',
    }),
  })
  assert.equal(res.status, 200, await res.clone().text())
  return ((await res.json()) as { access_token: string }).access_token
}

/** The MCP server's RFC 8693 exchange of `subject` for a dispatch token of `handle`. */
async function exchange(
  f: Fixture,
  mcpKey: DpopKeyPair,
  subject: string,
  handle: string,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const endpoint = await tokenEndpoint(f.stack.issuer)
  const client = JSON.parse(await readFile(f.stack.paths.mcpClientFile, 'utf8')) as {
    client_id: string
    client_secret: string
  }
  const res = await fetch(endpoint, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: basic(client.client_id, client.client_secret),
      dpop: await createDpopProof(mcpKey, { htm: 'POST', htu: endpoint }),
    },
    body: new URLSearchParams({
      grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
      subject_token: subject,
      subject_token_type: 'urn:ietf:params:oauth:token-type:access_token',
      resource: f.stack.enclaveUrl,
      connections: handle,
    }),
  })
  return { status: res.status, body: (await res.json()) as Record<string, unknown> }
}

/** `POST /dispatch` as the MCP server: the enclave fetches the envelope from the AS each time. */
async function dispatch(
  f: Fixture,
  mcpKey: DpopKeyPair,
  token: string,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const url = `${f.stack.enclaveUrl}/dispatch`
  const res = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      authorization: `DPoP ${token}`,
      dpop: await createDpopProof(mcpKey, { htm: 'POST', htu: url, accessToken: token }),
    },
    body: JSON.stringify({
      handle: f.flow.handle,
      request: { method: 'GET', path: '/user', query: {}, headers: {} },
    }),
  })
  return { status: res.status, body: (await res.json()) as Record<string, unknown> }
}

function connectionsSuite(backend: 'sqlite' | 'postgres'): void {
  describe(`dauth connections on ${backend}`, () => {
    let stateDir: string
    let database: { url: string; drop(): Promise<void> } | undefined
    let f: Fixture
    before(async () => {
      stateDir = await mkdtemp(join(tmpdir(), `dauth-cli-conn-${backend}-`))
      database = backend === 'postgres' ? await postgresDatabase() : undefined
      const extra: Record<string, string> = database ? { DATABASE_URL: database.url } : {}
      const stack = await startStack({ stateDir, env: extra })
      const flow = await runDemoFlow({
        issuer: stack.issuer,
        mcpUrl: stack.mcpUrl,
        upstreamHost: new URL(stack.upstreamUrl).host,
        attestationFile: stack.paths.attestationFile,
      })
      const env = {
        DAUTH_DEV: '1',
        DAUTH_STATE_DIR: stack.paths.stateDir,
        DAUTH_ISSUER: stack.issuer,
        ...extra,
      }
      f = { stack, env, flow }
    })
    after(async () => {
      await f?.stack.stop()
      await database?.drop()
      await rm(stateDir, { recursive: true, force: true })
    })

    test('list shows metadata only; revoke is refused by the running AS and enclave afterwards', async () => {
      const { flow, env } = f
      // The stored envelope, read as the AS reads it, to prove the listing never carries it.
      const storage = await openStorage(configFromEnv(env))
      const stored = await storage.connections.findActiveByHandle(flow.handle)
      await storage.close()
      assert.ok(stored?.envelope)
      const envelope = JSON.parse(stored.envelope) as { ct: string; kid: string }

      const listed = await dauth(['connections', 'list'], env)
      assert.equal(listed.code, 0, listed.stderr)
      const all = JSON.parse(listed.stdout) as Record<string, unknown>[]
      assert.deepEqual(all, [
        {
          connection_id: flow.connectionId,
          handle: flow.handle,
          owner: { iss: f.stack.issuer, sub: flow.clientId },
          name: 'demo',
          provider: 'demo-upstream',
          status: 'active',
          created_at: stored.createdAt,
        },
      ])
      for (const secretish of [envelope.ct, envelope.ct.slice(0, 32), stored.uploadNonce])
        assert.ok(!listed.stdout.includes(secretish))
      assert.ok(!/envelope|upload_nonce|"ct"/.test(listed.stdout))

      const mine = await dauth(
        ['connections', 'list', '--owner', flow.clientId, '--status', 'active'],
        env,
      )
      assert.deepEqual(
        (JSON.parse(mine.stdout) as { connection_id: string }[]).map((c) => c.connection_id),
        [flow.connectionId],
      )
      const others = await dauth(['connections', 'list', '--owner', 'someone-else'], env)
      assert.deepEqual([others.code, JSON.parse(others.stdout)], [0, []])
      const noneRevoked = await dauth(['connections', 'list', '--status', 'revoked'], env)
      assert.deepEqual([noneRevoked.code, JSON.parse(noneRevoked.stdout)], [0, []])
      const badStatus = await dauth(['connections', 'list', '--status', 'gone'], env)
      assert.equal(badStatus.code, 1)
      assert.match(badStatus.stderr, /argument 'gone' is invalid/)

      // Before: the exchange and the dispatch (with its envelope fetch) work.
      const subject = await subjectToken(f)
      const mcpKey = await generateDpopKeyPair()
      const granted = await exchange(f, mcpKey, subject, flow.handle)
      assert.equal(granted.status, 200, JSON.stringify(granted.body))
      const dispatchToken = granted.body.access_token as string
      const ok = await dispatch(f, mcpKey, dispatchToken)
      assert.deepEqual([ok.status, ok.body.status], [200, 200])

      const revoked = await dauth(['connections', 'revoke', flow.connectionId], env)
      assert.equal(revoked.code, 0, revoked.stderr)
      assert.deepEqual(JSON.parse(revoked.stdout), {
        connection_id: flow.connectionId,
        handle: flow.handle,
        owner: { iss: f.stack.issuer, sub: flow.clientId },
        name: 'demo',
        provider: 'demo-upstream',
        status: 'revoked',
        created_at: stored.createdAt,
        previous_status: 'active',
      })

      // After: the AS refuses the exchange for the handle the subject token still carries …
      const refused = await exchange(f, mcpKey, subject, flow.handle)
      assert.deepEqual(refused, {
        status: 400,
        body: { error: 'invalid_grant', error_description: 'a requested connection is not active' },
      })
      // … and the enclave, holding a dispatch token issued before, cannot fetch the envelope.
      const denied = await dispatch(f, mcpKey, dispatchToken)
      assert.equal(denied.status, 404, JSON.stringify(denied.body))
      assert.equal(denied.body.error, 'handle_unavailable')

      // Revoking again (by handle) succeeds and changes nothing; the listing shows it revoked.
      const again = await dauth(['connections', 'revoke', flow.handle], env)
      assert.equal(again.code, 0, again.stderr)
      assert.equal(
        (JSON.parse(again.stdout) as { previous_status: string }).previous_status,
        'revoked',
      )
      const after = await dauth(['connections', 'list', '--status', 'revoked'], env)
      assert.deepEqual(
        (JSON.parse(after.stdout) as { connection_id: string; status: string }[]).map((c) => [
          c.connection_id,
          c.status,
        ]),
        [[flow.connectionId, 'revoked']],
      )
    })

    test('revoke of an unknown id: one line, exit 1, nothing printed', async () => {
      const unknown = `conn_${'A'.repeat(43)}`
      const run = await dauth(['connections', 'revoke', unknown], f.env)
      assert.deepEqual(
        [run.code, run.stdout, run.stderr],
        [1, '', `dauth: no connection has the id or handle "${unknown}"\n`],
      )
    })
  })
}

connectionsSuite('sqlite')
connectionsSuite('postgres')
