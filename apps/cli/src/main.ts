#!/usr/bin/env node
/**
 * `dauth` — the operator CLI. Reads the same environment as the services
 * (DAUTH_STATE_DIR, DAUTH_ISSUER, DATABASE_URL, REDIS_URL, …; docs/reference/wire.md), so it
 * acts on exactly the storage and keys the running stack uses. Every command has `--help`.
 * Output is JSON for commands that change something (scriptable), plain words for `doctor`.
 * Errors name what went wrong, never a secret.
 *
 * @module
 */
import { resolve } from 'node:path'
import { Command, CommanderError, Option } from 'commander'
import { configFromEnv, parseResources } from '@dauth/as'
import {
  createAccount,
  type ConnectionStatus,
  issueInitialAccessToken,
  listConnections,
  openStorage,
  revokeConnection,
  rotateSigningKeys,
} from '@dauth/as/admin'
import {
  initEnclaveKeys,
  KeyringError,
  listEnclaveKeys,
  retireEnclaveKey,
  rotateEnclaveKeys,
} from '@dauth/enclave/admin'
import { readFile } from 'node:fs/promises'
import { ConfigError, EX_CONFIG } from '@dauth/protocol/env'
import { renderFindings, runDoctor } from './doctor.ts'
import { initStateDir } from './init.ts'

const env = process.env
const stateDir = (): string => resolve(env.DAUTH_STATE_DIR ?? '.dauth')
const print = (value: unknown): void => void process.stdout.write(`${JSON.stringify(value)}\n`)

/** A failure the operator can act on: printed as one line, exit 1. */
class UsageError extends Error {}

async function readPassword(): Promise<string> {
  if (env.DAUTH_AS_PASSWORD) return env.DAUTH_AS_PASSWORD
  if (process.stdin.isTTY) {
    throw new UsageError(
      'give the password in DAUTH_AS_PASSWORD or on standard input (it is never an argument)',
    )
  }
  let input = ''
  for await (const chunk of process.stdin) {
    input += (chunk as Buffer).toString()
    if (input.includes('\n')) break
  }
  return input.split('\n')[0] ?? ''
}

async function withAsStorage<T>(
  run: (storage: Awaited<ReturnType<typeof openStorage>>) => Promise<T>,
): Promise<T> {
  const storage = await openStorage(configFromEnv(env))
  try {
    return await run(storage)
  } finally {
    await storage.close()
  }
}

export function buildProgram(): Command {
  const program = new Command('dauth')
    .description(
      'Operate a DAuth deployment: state folder, accounts, clients, resources, connections, keys, and a configuration check.',
    )
    .showHelpAfterError()

  program
    .command('doctor')
    .description("Check this deployment's configuration and say what is wrong in plain words")
    .option('--offline', 'only check values, files and permissions (contact no server)')
    .action(async (options: { offline?: boolean }) => {
      const findings = await runDoctor({ env, offline: options.offline === true })
      process.stdout.write(renderFindings(findings))
      if (findings.some((f) => f.status === 'fail')) process.exitCode = 1
    })

  program
    .command('init')
    .description(
      'Create what is missing of the state folder for DAUTH_ISSUER and DAUTH_MCP_URL: client keys and secrets, clients.json, resources.json (existing files are kept)',
    )
    .option(
      '--connections <names>',
      "comma-separated connection names of the MCP server's resource",
      'demo',
    )
    .option(
      '--enclave-keys',
      "also create the enclave's platform key, master key file and keyring (for a Secret shared by replicas)",
    )
    .action(async (options: { connections: string; enclaveKeys?: boolean }) => {
      if (!env.DAUTH_ISSUER || !env.DAUTH_MCP_URL)
        throw new UsageError(
          'set DAUTH_ISSUER (the public https origin of the AS) and DAUTH_MCP_URL (the MCP server URL) first',
        )
      // The AS's own schema checks the issuer (ConfigError: one line, exit 78).
      const issuer = configFromEnv(env).issuer ?? env.DAUTH_ISSUER
      const connections = options.connections.split(',').filter((n) => n !== '')
      let report
      try {
        report = await initStateDir({
          stateDir: stateDir(),
          issuer,
          mcpUrl: env.DAUTH_MCP_URL,
          connections,
        })
      } catch (error) {
        // parseResources' messages name the field, never a secret.
        if (error instanceof TypeError) throw new UsageError(error.message)
        throw error
      }
      if (options.enclaveKeys) Object.assign(report, await initEnclaveKeys(stateDir()))
      print({ state_dir: stateDir(), files: report })
    })

  const users = program.command('users').description('Local accounts of the login page')
  users
    .command('create')
    .description('Create an account (password from DAUTH_AS_PASSWORD or the first line of stdin)')
    .argument('<username>', 'lower-case letters, digits, . _ -')
    .action(async (username: string) => {
      const password = await readPassword()
      const result = await withAsStorage((s) => createAccount(s.accounts, username, password))
      if (!result.ok) {
        const why = {
          invalid_username:
            'the username must be 1-64 of a-z 0-9 . _ - and start with a letter or digit',
          weak_password: 'the password must be at least 8 characters',
          username_taken: 'that username exists already',
        }[result.reason]
        throw new UsageError(why)
      }
      print({ account_id: result.id, username })
    })

  const clients = program.command('clients').description('OAuth clients')
  clients
    .command('initial-access-token')
    .description('Issue an RFC 7591 initial access token for dynamic registration (shown once)')
    .option('--ttl <seconds>', 'lifetime in seconds', '86400')
    .action(async (options: { ttl: string }) => {
      const seconds = Number(options.ttl)
      if (!Number.isInteger(seconds) || seconds <= 0)
        throw new UsageError('--ttl must be a positive whole number of seconds')
      const issuer = configFromEnv(env).issuer ?? 'http://localhost:4000'
      const token = await withAsStorage((s) => issueInitialAccessToken(s, issuer, seconds))
      print({ initial_access_token: token, expires_in: seconds })
    })

  program
    .command('resources')
    .description('Resource registry')
    .command('list')
    .description('List the resources the AS issues tokens for, with their scopes and connections')
    .action(async () => {
      const file = configFromEnv(env).resourcesFile ?? resolve(stateDir(), 'resources.json')
      let text: string
      try {
        text = await readFile(file, 'utf8')
      } catch {
        throw new UsageError(`cannot read the registry ${file}`)
      }
      print(parseResources(JSON.parse(text)))
    })

  const connections = program
    .command('connections')
    .description("Users' stored credentials (the vault): metadata only, never the envelope")
  connections
    .command('list')
    .description(
      'List connections of every owner, oldest first: id, handle, owner, name, provider, status, created_at',
    )
    .option('--owner <subject>', "only this owner's connections (the `sub` of the owner)")
    .addOption(
      new Option('--status <status>', 'only connections in this state').choices([
        'pending',
        'active',
        'revoked',
      ]),
    )
    .action(async (options: { owner?: string; status?: ConnectionStatus }) => {
      const filter = {
        ...(options.owner !== undefined ? { ownerSub: options.owner } : {}),
        ...(options.status !== undefined ? { status: options.status } : {}),
      }
      print(await withAsStorage((s) => listConnections(s.connections, filter)))
    })
  connections
    .command('revoke')
    .description(
      "Revoke a connection as its owner's DELETE /connections/:id does: the enclave can no longer fetch its envelope",
    )
    .argument('<id>', 'connection id (conn_…) or handle (hdl_…)')
    .action(async (id: string) => {
      const result = await withAsStorage((s) => revokeConnection(s.connections, id))
      if (!result.ok)
        throw new UsageError(`no connection has the id or handle ${JSON.stringify(id)}`)
      print({ ...result.connection, previous_status: result.previousStatus })
    })

  const keys = program.command('keys').description('Signing keys (AS) and sealing keys (enclave)')
  keys
    .command('rotate-signing')
    .description(
      'New ES256 signing key, published at once; it signs from --activate-after on (running AS instances reload within DAUTH_AS_KEYS_RELOAD_SECONDS); tokens signed by older keys verify until they leave the set',
    )
    .option(
      '--activate-after <seconds>',
      'publish the key now, sign with it only after this many seconds (several instances or caching resource servers: longer than their reload and JWKS cache times)',
      '0',
    )
    .action(async (options: { activateAfter: string }) => {
      const seconds = Number(options.activateAfter)
      if (!/^\d+$/.test(options.activateAfter) || !Number.isSafeInteger(seconds))
        throw new UsageError('--activate-after must be a whole number of seconds, 0 or more')
      const kid = await withAsStorage((s) =>
        rotateSigningKeys(s.meta, { activateAfterSeconds: seconds }),
      )
      // The instances start signing with it at their first key reload after this time.
      print({ kid, activates_at: Math.floor(Date.now() / 1000) + seconds })
    })
  keys
    .command('rotate-enclave')
    .description('New current sealing key; envelopes sealed to older kids still open until retired')
    .action(async () => print(await rotateEnclaveKeys(stateDir())))
  keys
    .command('list-enclave')
    .description("The enclave's kids, their status and the current one (no key material)")
    .action(() => print(listEnclaveKeys(stateDir())))
  keys
    .command('retire-enclave')
    .description("Delete a non-current kid's private key: envelopes sealed to it stop opening")
    .argument('<kid>')
    .action((kid: string) => {
      retireEnclaveKey(stateDir(), kid)
      print({ retired: kid })
    })
  return program
}

export async function main(argv: readonly string[]): Promise<number> {
  const program = buildProgram().exitOverride()
  try {
    await program.parseAsync([...argv], { from: 'user' })
    return typeof process.exitCode === 'number' ? process.exitCode : 0
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode
    if (error instanceof ConfigError) {
      // The services' own schema messages: one line per bad variable, no value that is secret.
      for (const problem of error.problems) process.stderr.write(`dauth: ${problem}\n`)
      return EX_CONFIG
    }
    if (error instanceof UsageError) process.stderr.write(`dauth: ${error.message}\n`)
    else if (error instanceof KeyringError)
      process.stderr.write(`dauth: ${error.code}: ${error.message}\n`)
    // Anything else: no stack trace and no detail that could carry a secret.
    else process.stderr.write(`dauth: failed (${error instanceof Error ? error.name : 'error'})\n`)
    return 1
  }
}

if (import.meta.main) process.exitCode = await main(process.argv.slice(2))
