// `dauth` as an operator runs it: a child process with the services' environment, against a
// real stack (doctor, enclave keys) and an embedded AS store (accounts).
import assert from 'node:assert/strict'
import { chmod, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { runNodeScript, type ScriptRun, type Stack, startStack } from '@dauth/devkit'
import type { Command } from 'commander'
import { openStorage } from '@dauth/as/admin'
import { buildProgram } from '../src/main.ts'

const MAIN = join(import.meta.dirname, '..', 'src', 'main.ts')

function dauth(args: string[], env: Record<string, string>, input?: string): Promise<ScriptRun> {
  // Only what the test gives: no inherited DAUTH_* or database URLs.
  return runNodeScript(MAIN, { args, env, ...(input !== undefined ? { input } : {}) })
}

test('every command and group has a description and --help', () => {
  const walk = (command: Command, path: string[]): string[][] => [
    path,
    ...command.commands.flatMap((c) => walk(c, [...path, c.name()])),
  ]
  const all = walk(buildProgram(), [])
  assert.ok(all.length >= 10)
  for (const path of all) {
    let command = buildProgram()
    for (const name of path) command = command.commands.find((c) => c.name() === name)!
    assert.notEqual(command.description(), '', `dauth ${path.join(' ')} has no description`)
    assert.match(command.helpInformation(), /^Usage: dauth/)
  }
})

test('docs/reference/cli.md lists every command, and no command that does not exist', async () => {
  const leaves = (command: Command, path: string[]): string[] =>
    command.commands.length === 0
      ? [path.join(' ')]
      : command.commands.flatMap((c) => leaves(c, [...path, c.name()]))
  const commands = leaves(buildProgram(), []).sort()
  const doc = await readFile(join(import.meta.dirname, '../../../docs/reference/cli.md'), 'utf8')
  // First cell of each table row: `dauth <words> [<args>] [--options]`.
  const documented = [...doc.matchAll(/^\| `dauth ([a-z -]+?)(?: [<[][^`]*)?` +\|/gm)]
    .map((m) => m[1]!.trim())
    .sort()
  assert.deepEqual(documented, commands)
})

describe('accounts on the embedded store', () => {
  let stateDir: string
  before(async () => {
    stateDir = await mkdtemp(join(tmpdir(), 'dauth-cli-'))
  })
  after(() => rm(stateDir, { recursive: true, force: true }))

  test('users create: the password comes from stdin, never an argument; clear refusals', async () => {
    const env = { DAUTH_STATE_DIR: stateDir }
    const weak = await dauth(['users', 'create', 'alice'], env, 'short\n')
    assert.deepEqual(
      [weak.code, weak.stderr],
      [1, 'dauth: the password must be at least 8 characters\n'],
    )
    const created = await dauth(['users', 'create', 'alice'], env, 'a-long-password\n')
    assert.equal(created.code, 0, created.stderr)
    const body = JSON.parse(created.stdout) as { account_id: string; username: string }
    assert.equal(body.username, 'alice')
    assert.match(body.account_id, /^acct_[A-Za-z0-9_-]{22}$/)
    assert.ok(!created.stdout.includes('a-long-password'))
    const again = await dauth(['users', 'create', 'alice'], env, 'another-password\n')
    assert.deepEqual([again.code, again.stderr], [1, 'dauth: that username exists already\n'])
    const bad = await dauth(['users', 'create', 'Alice!'], env, 'a-long-password\n')
    assert.equal(bad.code, 1)
    assert.match(bad.stderr, /^dauth: the username must be/)
  })

  test('keys rotate-signing: a staged key with its activation time; a bad delay is refused', async () => {
    const env = { DAUTH_STATE_DIR: stateDir }
    const bad = await dauth(['keys', 'rotate-signing', '--activate-after', '-5'], env)
    assert.deepEqual(
      [bad.code, bad.stderr],
      [1, 'dauth: --activate-after must be a whole number of seconds, 0 or more\n'],
    )
    const startedAt = Math.floor(Date.now() / 1000)
    const run = await dauth(['keys', 'rotate-signing', '--activate-after', '120'], env)
    assert.equal(run.code, 0, run.stderr)
    const out = JSON.parse(run.stdout) as { kid: string; activates_at: number }
    assert.deepEqual(Object.keys(out), ['kid', 'activates_at'])
    assert.ok(out.activates_at >= startedAt + 120 && out.activates_at <= startedAt + 180)
    // The stored set: the new key first, staged until that time (the AS reads the same row).
    const storage = await openStorage({ stateDir, enclaveUrl: 'http://127.0.0.1:4200' })
    try {
      const stored = JSON.parse(await storage.meta.getOrCreate('signing_jwks', () => '')) as {
        keys: { kid?: string }[]
        activation?: Record<string, number>
      }
      assert.equal(stored.keys[0]?.kid, out.kid)
      assert.deepEqual(stored.activation, { [out.kid]: out.activates_at })
    } finally {
      await storage.close()
    }
  })

  test('a bad service variable: the schema message, exit 78, no secret', async () => {
    const run = await dauth(
      ['users', 'create', 'bob'],
      {
        DAUTH_STATE_DIR: stateDir,
        DAUTH_AS_PORT: 'abc',
        DATABASE_URL: 'mysql://root:s3cret-pw@db/x',
      },
      'a-long-password\n',
    )
    assert.equal(run.code, 78)
    assert.match(run.stderr, /^dauth: DAUTH_AS_PORT: must be a port number/m)
    assert.match(run.stderr, /^dauth: DATABASE_URL: /m)
    assert.ok(!run.stderr.includes('s3cret-pw'))
  })

  test("doctor --offline: the AS's own issuer and registry rules", async () => {
    await writeFile(
      join(stateDir, 'resources.json'),
      JSON.stringify({ resources: [{ resource: 'https://mcp.example.com/mcp?x=1', scopes: [] }] }),
    )
    const run = await dauth(['doctor', '--offline'], {
      DAUTH_STATE_DIR: stateDir,
      DAUTH_ISSUER: 'https://auth.example.com/tenant',
      DAUTH_MCP_URL: 'https://mcp.example.com/mcp',
    })
    assert.equal(run.code, 1)
    const lines = run.stdout.split('\n')
    assert.ok(
      lines.includes(
        'FAIL issuer: DAUTH_ISSUER must be an origin URL without path, query or fragment',
      ),
      run.stdout,
    )
    assert.ok(
      lines.includes(
        `FAIL resource_registry: ${join(stateDir, 'resources.json')}: resources[0].resource must be an absolute URL without query or fragment`,
      ),
      run.stdout,
    )
  })

  test("doctor --offline: the enclave listen address, by the enclave's own rules", async () => {
    const line = async (vars: Record<string, string>): Promise<[number | null, string]> => {
      const run = await dauth(['doctor', '--offline'], { DAUTH_STATE_DIR: stateDir, ...vars })
      const found = run.stdout.split('\n').filter((l) => l.includes(' enclave_listen: '))
      assert.equal(found.length, 1, run.stdout)
      return [run.code, found[0]!]
    }
    assert.deepEqual(await line({ DAUTH_ENCLAVE_HOST: 'enclave.internal' }), [
      1,
      'FAIL enclave_listen: DAUTH_ENCLAVE_HOST: must be an IP address, e.g. 127.0.0.1, 0.0.0.0 or ::, got "enclave.internal"',
    ])
    assert.deepEqual(await line({ DAUTH_ENCLAVE_HOST: '0.0.0.0' }), [
      1,
      'FAIL enclave_listen: DAUTH_ENCLAVE_URL: must be set when DAUTH_ENCLAVE_HOST is 0.0.0.0 (the URL the AS and the MCP servers reach the enclave at)',
    ])
    const [, plain] = await line({
      DAUTH_ENCLAVE_HOST: '0.0.0.0',
      DAUTH_ENCLAVE_URL: 'http://enclave:4200',
    })
    assert.equal(
      plain,
      'WARN enclave_listen: the enclave listens on 0.0.0.0 and serves plain HTTP: dispatch requests and upstream answers cross the network in clear',
    )
    assert.deepEqual(
      (await line({ DAUTH_ENCLAVE_HOST: '::', DAUTH_ENCLAVE_URL: 'https://enclave.internal' }))[1],
      'ok   enclave_listen: ::, behind TLS (DAUTH_ENCLAVE_URL is https)',
    )
    assert.deepEqual(
      (await line({ DAUTH_ENCLAVE_HOST: '127.0.0.1' }))[1],
      'ok   enclave_listen: 127.0.0.1 (loopback only)',
    )
  })

  test('an unknown command is refused with usage, exit 1', async () => {
    const run = await dauth(['userz'], {})
    assert.equal(run.code, 1)
    assert.match(run.stderr, /unknown command 'userz'/)
  })
})

describe('against a running stack', () => {
  let stack: Stack
  let stateDir: string
  let env: Record<string, string>
  before(async () => {
    stateDir = await mkdtemp(join(tmpdir(), 'dauth-cli-stack-'))
    stack = await startStack({ stateDir, ports: { as: 0, mcp: 0, enclave: 0, upstream: 0 } })
    env = {
      DAUTH_DEV: '1',
      DAUTH_STATE_DIR: stack.paths.stateDir,
      DAUTH_ISSUER: stack.issuer,
      DAUTH_MCP_URL: stack.mcpUrl,
    }
  })
  after(async () => {
    await stack?.stop()
    await rm(stateDir, { recursive: true, force: true })
  })

  test('doctor: every check passes on a healthy dev stack', async () => {
    const run = await dauth(['doctor'], env)
    assert.equal(run.code, 0, run.stdout)
    const lines = run.stdout.trim().split('\n')
    assert.equal(lines.filter((l) => l.startsWith('FAIL')).length, 0, run.stdout)
    assert.ok(
      lines.includes(
        `ok   mcp: protected resource metadata at ${new URL(stack.mcpUrl).origin}/.well-known/oauth-protected-resource/mcp`,
      ),
      run.stdout,
    )
    assert.ok(
      lines.some((l) => l.startsWith(`ok   as: answers at ${stack.issuer}`)),
      run.stdout,
    )
    assert.ok(
      lines.some((l) =>
        l.startsWith('ok   enclave: attestation verifies against the pinned platform key'),
      ),
      run.stdout,
    )
    assert.equal(lines.at(-1), 'all good (1 warnings)') // DAUTH_DEV=1 is itself a warning
  })

  test('resources list: the registry the AS serves, as JSON', async () => {
    const run = await dauth(['resources', 'list'], env)
    assert.equal(run.code, 0, run.stderr)
    const resources = JSON.parse(run.stdout) as { resource: string; scopes: string[] }[]
    assert.deepEqual(
      resources.map((r) => [r.resource, r.scopes]),
      [
        [stack.mcpUrl, ['read', 'api:call']],
        [`${stack.issuer}/connections`, ['connections:read', 'connections:write']],
      ],
    )
  })

  test('doctor: plain words for a bad deployment, exit 1, and no secret in the output', async () => {
    const run = await dauth(['doctor'], {
      ...env,
      DAUTH_DEV: '0',
      DAUTH_ISSUER: 'http://as.example.com',
      DATABASE_URL: 'postgres://dauth:s3cret-pw@127.0.0.1:1/dauth',
    })
    assert.equal(run.code, 1)
    const lines = run.stdout.split('\n')
    assert.ok(
      lines.includes(
        'FAIL issuer: http://as.example.com is plain http on a non-loopback host: tokens and credentials would cross the network in clear',
      ),
      run.stdout,
    )
    assert.ok(
      lines.some((l) => l.startsWith('FAIL postgres: cannot connect:')),
      run.stdout,
    )
    assert.ok(
      lines.includes(
        'WARN redis: DATABASE_URL is set but REDIS_URL is not: several instances would not share DPoP replay state and rate limits',
      ),
      run.stdout,
    )
    assert.ok(!run.stdout.includes('s3cret-pw') && !run.stderr.includes('s3cret-pw'))
  })

  test('doctor: an enclave key file readable by others fails', async () => {
    const keys = join(stack.paths.stateDir, 'enclave', 'keys')
    const [first] = (await readdir(keys)).filter((n) => !n.startsWith('.'))
    assert.ok(first)
    await chmod(join(keys, first), 0o644)
    try {
      const run = await dauth(['doctor', '--offline'], env)
      assert.equal(run.code, 1)
      assert.ok(
        run.stdout.includes(`FAIL enclave_keys: readable by other users: keys/${first}`),
        run.stdout,
      )
    } finally {
      await chmod(join(keys, first), 0o600)
    }
  })

  test('doctor: an enclave key file readable by its group only warns (a Kubernetes fsGroup mount)', async () => {
    const keys = join(stack.paths.stateDir, 'enclave', 'keys')
    const [first] = (await readdir(keys)).filter((n) => !n.startsWith('.'))
    assert.ok(first)
    await chmod(join(keys, first), 0o440)
    try {
      const run = await dauth(['doctor', '--offline'], env)
      const { gid } = await stat(join(keys, first))
      assert.ok(
        run.stdout.includes(
          `WARN enclave_keys: readable by the file's group: keys/${first} (gid ${gid})`,
        ),
        run.stdout,
      )
      assert.ok(!run.stdout.includes('FAIL enclave_keys'), run.stdout)
    } finally {
      await chmod(join(keys, first), 0o600)
    }
  })

  test('keys: rotate the enclave key, list, retire the old one; the current one cannot be retired', async () => {
    const before = JSON.parse((await dauth(['keys', 'list-enclave'], env)).stdout) as {
      current: string
    }
    const rotated = await dauth(['keys', 'rotate-enclave'], env)
    assert.equal(rotated.code, 0, rotated.stderr)
    const { current, previous } = JSON.parse(rotated.stdout) as {
      current: string
      previous: string
    }
    assert.equal(previous, before.current)
    assert.notEqual(current, before.current)
    const current2 = await dauth(['keys', 'retire-enclave', current], env)
    assert.equal(current2.code, 1)
    assert.match(current2.stderr, /^dauth: ERR_KEYRING_/)
    const retired = await dauth(['keys', 'retire-enclave', previous], env)
    assert.deepEqual([retired.code, JSON.parse(retired.stdout)], [0, { retired: previous }])
    const listed = JSON.parse((await dauth(['keys', 'list-enclave'], env)).stdout) as {
      current: string
      keys: { kid: string; status: string }[]
    }
    assert.equal(listed.current, current)
    assert.deepEqual(
      listed.keys.map((k) => [k.kid, k.status]).sort(),
      [
        [current, 'active'],
        [previous, 'retired'],
      ].sort(),
    )
  })
})

describe('init', () => {
  let stateDir: string
  before(async () => {
    stateDir = join(await mkdtemp(join(tmpdir(), 'dauth-cli-init-')), 'state')
  })
  after(() => rm(join(stateDir, '..'), { recursive: true, force: true }))

  test('creates the state folder once, owner-only secrets, and the offline doctor finds nothing wrong', async () => {
    const env = {
      DAUTH_STATE_DIR: stateDir,
      DAUTH_ISSUER: 'https://auth.example.com',
      DAUTH_MCP_URL: 'https://mcp.example.com/mcp',
    }
    const missing = await dauth(['init'], { DAUTH_STATE_DIR: stateDir })
    assert.deepEqual(
      [missing.code, missing.stderr],
      [
        1,
        'dauth: set DAUTH_ISSUER (the public https origin of the AS) and DAUTH_MCP_URL (the MCP server URL) first\n',
      ],
    )
    const first = await dauth(['init', '--connections', 'github,demo'], env)
    assert.equal(first.code, 0, first.stderr)
    const files = [
      'clients/enclave.jwk.json',
      'clients/example-mcp.json',
      'clients.json',
      'resources.json',
    ]
    assert.deepEqual(JSON.parse(first.stdout), {
      state_dir: stateDir,
      files: Object.fromEntries(files.map((f) => [f, 'created'])),
    })
    for (const [file, mode] of [
      ['clients/enclave.jwk.json', 0o600],
      ['clients/example-mcp.json', 0o600],
      ['clients.json', 0o600],
      ['resources.json', 0o644],
    ] as const)
      assert.equal((await stat(join(stateDir, file))).mode & 0o777, mode, file)
    const read = async (file: string): Promise<any> =>
      JSON.parse(await readFile(join(stateDir, file), 'utf8'))
    const key = await read('clients/enclave.jwk.json')
    const clients = await read('clients.json')
    const mcp = await read('clients/example-mcp.json')
    assert.equal(typeof key.d, 'string')
    const { d: _d, key_ops: _ops, ext: _ext, ...publicJwk } = key
    assert.deepEqual(
      clients.map((c: any) => [c.client_id, c.client_secret, c.jwks?.keys]),
      [
        ['dauth-example-mcp', mcp.client_secret, undefined],
        ['dauth-enclave', undefined, [publicJwk]],
      ],
    )
    assert.deepEqual(
      (await read('resources.json')).resources.map((r: any) => [r.resource, r.connections]),
      [
        ['https://mcp.example.com/mcp', ['github', 'demo']],
        ['https://auth.example.com/connections', []],
      ],
    )
    // No secret on stdout.
    assert.ok(!first.stdout.includes(mcp.client_secret) && !first.stdout.includes(key.d))

    const before = await Promise.all(files.map((f) => readFile(join(stateDir, f), 'utf8')))
    const again = await dauth(['init'], env)
    assert.deepEqual(
      JSON.parse(again.stdout).files,
      Object.fromEntries(files.map((f) => [f, 'kept'])),
    )
    assert.deepEqual(
      await Promise.all(files.map((f) => readFile(join(stateDir, f), 'utf8'))),
      before,
    )

    const doctor = await dauth(['doctor', '--offline'], env)
    assert.equal(doctor.code, 0, doctor.stdout)
    assert.ok(!doctor.stdout.includes('FAIL'), doctor.stdout)
  })

  test("--enclave-keys: the enclave's keys once, owner-only, a keyring with one current key", async () => {
    const dir = join(stateDir, '..', 'with-enclave-keys')
    const env = {
      DAUTH_STATE_DIR: dir,
      DAUTH_ISSUER: 'https://auth.example.com',
      DAUTH_MCP_URL: 'https://mcp.example.com/mcp',
    }
    const keyFiles = [
      'enclave/platform.jwk.json',
      'enclave/master.key',
      'enclave/keys/keyring.json',
    ]
    const first = await dauth(['init', '--enclave-keys'], env)
    assert.equal(first.code, 0, first.stderr)
    const files = JSON.parse(first.stdout).files as Record<string, string>
    assert.deepEqual(
      keyFiles.map((f) => files[f]),
      ['created', 'created', 'created'],
    )
    for (const file of keyFiles)
      assert.equal((await stat(join(dir, file))).mode & 0o777, 0o600, file)
    const platform = JSON.parse(await readFile(join(dir, 'enclave/platform.jwk.json'), 'utf8'))
    assert.deepEqual([platform.kty, platform.crv, typeof platform.d], ['OKP', 'Ed25519', 'string'])
    const listed = await dauth(['keys', 'list-enclave'], env)
    const keyring = JSON.parse(listed.stdout) as {
      current: string
      keys: { kid: string; status: string }[]
    }
    assert.deepEqual(
      keyring.keys.map((k) => [k.kid, k.status]),
      [[keyring.current, 'active']],
    )
    // No key material on stdout; a second run keeps every file as it is.
    assert.ok(!first.stdout.includes(platform.d))
    const before = await Promise.all(keyFiles.map((f) => readFile(join(dir, f), 'utf8')))
    const again = await dauth(['init', '--enclave-keys'], env)
    const kept = JSON.parse(again.stdout).files as Record<string, string>
    assert.deepEqual(
      keyFiles.map((f) => kept[f]),
      ['kept', 'kept', 'kept'],
    )
    assert.deepEqual(await Promise.all(keyFiles.map((f) => readFile(join(dir, f), 'utf8'))), before)
    const doctor = await dauth(['doctor', '--offline'], env)
    assert.ok(
      doctor.stdout.split('\n').includes('ok   enclave_keys: 3 files, owner-only'),
      doctor.stdout,
    )
  })

  test('a bad issuer is the schema line and exit 78; nothing written', async () => {
    const dir = join(stateDir, '..', 'bad')
    const run = await dauth(['init'], {
      DAUTH_STATE_DIR: dir,
      DAUTH_ISSUER: 'http://auth.example.com',
      DAUTH_MCP_URL: 'https://mcp.example.com/mcp',
    })
    assert.deepEqual(
      [run.code, run.stderr],
      [
        78,
        'dauth: DAUTH_ISSUER: must use https (http is allowed only for loopback hosts), got "http://auth.example.com"\n',
      ],
    )
    await assert.rejects(stat(dir), { code: 'ENOENT' })
  })
})
