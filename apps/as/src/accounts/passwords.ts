import { randomBytes, scrypt as scryptCb, timingSafeEqual, type ScryptOptions } from 'node:crypto'
import type { AccountStore } from '../storage/types.ts'

const PARAMS = { N: 16384, r: 8, p: 1, keylen: 32 } as const

function scrypt(
  password: string,
  salt: Buffer,
  keylen: number,
  options: ScryptOptions,
): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scryptCb(password.normalize('NFKC'), salt, keylen, options, (error, key) =>
      error ? reject(error) : resolve(key),
    )
  })
}

/** `scrypt$N$r$p$salt$hash` (base64url). */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16)
  const key = await scrypt(password, salt, PARAMS.keylen, { N: PARAMS.N, r: PARAMS.r, p: PARAMS.p })
  return [
    'scrypt',
    PARAMS.N,
    PARAMS.r,
    PARAMS.p,
    salt.toString('base64url'),
    key.toString('base64url'),
  ].join('$')
}

/** Constant-time check of a password against a stored hash. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [scheme, n, r, p, salt, hash] = stored.split('$')
  if (scheme !== 'scrypt' || !n || !r || !p || !salt || !hash) return false
  const expected = Buffer.from(hash, 'base64url')
  const key = await scrypt(password, Buffer.from(salt, 'base64url'), expected.length, {
    N: Number(n),
    r: Number(r),
    p: Number(p),
  })
  return key.length === expected.length && timingSafeEqual(key, expected)
}

/** A hash of a random password: compared against when the username is unknown (no enumeration by timing). */
export const DUMMY_HASH_PROMISE: Promise<string> = hashPassword(
  randomBytes(16).toString('base64url'),
)

export const DEV_ACCOUNT = { id: 'acct_demo', username: 'demo', password: 'demo-password' } as const

/** DAUTH_DEV=1 seeds the `demo` account (dev only). */
export async function seedDevAccount(accounts: AccountStore): Promise<void> {
  if (await accounts.findByUsername(DEV_ACCOUNT.username)) return
  await accounts.create({
    id: DEV_ACCOUNT.id,
    username: DEV_ACCOUNT.username,
    passwordHash: await hashPassword(DEV_ACCOUNT.password),
  })
}

const USERNAME = /^[a-z0-9][a-z0-9._-]{0,63}$/

/** Creates a local account with an scrypt password hash (admin CLI). */
export async function createAccount(
  accounts: AccountStore,
  username: string,
  password: string,
): Promise<
  | { ok: true; id: string }
  | { ok: false; reason: 'invalid_username' | 'weak_password' | 'username_taken' }
> {
  if (!USERNAME.test(username)) return { ok: false, reason: 'invalid_username' }
  if (password.length < 8) return { ok: false, reason: 'weak_password' }
  const id = `acct_${randomBytes(16).toString('base64url')}`
  const created = await accounts.create({
    id,
    username,
    passwordHash: await hashPassword(password),
  })
  return created ? { ok: true, id } : { ok: false, reason: 'username_taken' }
}
