import { join } from 'node:path'
import { configFromEnv } from './config.ts'
import { createAccount } from './accounts/passwords.ts'
import { rotateSigningKeys } from './keys.ts'
import { issueInitialAccessToken } from './admin.ts'
import { SqliteStorage } from './storage/sqlite.ts'
import type { Storage } from './storage/types.ts'

const USAGE = `usage: node apps/as/src/cli.ts <command>
  create-user <username>   password from DAUTH_AS_PASSWORD or the first line of stdin
  rotate-signing-keys      new ES256 signing key; old keys keep verifying (restart the AS)
  create-initial-access-token [seconds]   for dynamic registration outside DAUTH_DEV (default 1 day)`

async function openStorage(): Promise<Storage> {
  const config = configFromEnv(process.env)
  if (config.databaseUrl) {
    const { PostgresStorage } = await import('./storage/postgres.ts')
    return PostgresStorage.connect(config.databaseUrl)
  }
  return new SqliteStorage(join(config.stateDir, 'as.sqlite'))
}

async function readPassword(): Promise<string> {
  if (process.env.DAUTH_AS_PASSWORD) return process.env.DAUTH_AS_PASSWORD
  let input = ''
  for await (const chunk of process.stdin) {
    input += (chunk as Buffer).toString()
    if (input.includes('\n')) break
  }
  return input.split('\n')[0] ?? ''
}

const [command, arg] = process.argv.slice(2)
if (command === 'create-user' && arg) {
  const password = await readPassword()
  const storage = await openStorage()
  try {
    const result = await createAccount(storage.accounts, arg, password)
    if (!result.ok) {
      process.stderr.write(`${result.reason}\n`)
      process.exitCode = 1
    } else process.stdout.write(`${JSON.stringify({ account_id: result.id, username: arg })}\n`)
  } finally {
    await storage.close()
  }
} else if (command === 'rotate-signing-keys') {
  const storage = await openStorage()
  try {
    process.stdout.write(`${JSON.stringify({ kid: await rotateSigningKeys(storage.meta) })}\n`)
  } finally {
    await storage.close()
  }
} else if (command === 'create-initial-access-token') {
  const storage = await openStorage()
  try {
    const seconds = arg === undefined ? 86400 : Number(arg)
    if (!Number.isInteger(seconds) || seconds <= 0)
      throw new TypeError('seconds must be a positive integer')
    const issuer = configFromEnv(process.env).issuer ?? 'http://localhost:4000'
    const token = await issueInitialAccessToken(storage, issuer, seconds)
    process.stdout.write(
      `${JSON.stringify({ initial_access_token: token, expires_in: seconds })}\n`,
    )
  } finally {
    await storage.close()
  }
} else {
  process.stderr.write(`${USAGE}\n`)
  process.exitCode = 2
}
