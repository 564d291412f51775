// Drives Debian's headless Chromium (via playwright-core, never a downloaded browser) through
// the AS's real login and consent pages, by their accessible names (ARCHITECTURE.md §6).
// A subpath of its own (`@dauth/devkit/browser`) so that loading the devkit does not load
// playwright.
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type BrowserContext, chromium, type Page } from 'playwright-core'

/** Debian's Chromium; override with DAUTH_TEST_CHROMIUM. */
export const CHROMIUM_PATH = process.env.DAUTH_TEST_CHROMIUM ?? '/usr/bin/chromium'

const CHROMIUM_ARGS = [
  '--headless',
  // CI runs as root, where Chromium's sandbox cannot start.
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
] as const

export function chromiumAvailable(): boolean {
  return existsSync(CHROMIUM_PATH)
}

/** A headless Chromium with a fresh user-data-dir; close() removes the profile too. */
export interface TestBrowser {
  context: BrowserContext
  page: Page
  close(): Promise<void>
}

export async function launchTestBrowser(): Promise<TestBrowser> {
  const userDataDir = mkdtempSync(join(tmpdir(), 'dauth-chromium-'))
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: [...CHROMIUM_ARGS],
  })
  const page = context.pages()[0] ?? (await context.newPage())
  let closed = false
  return {
    context,
    page,
    close: async () => {
      if (closed) return
      closed = true
      await context.close()
      rmSync(userDataDir, { recursive: true, force: true })
    },
  }
}

/**
 * Opens an authorization URL, signs in through the AS's real login page (labels
 * "Username" / "Password", button "Sign in") and approves the consent page (button
 * "Allow"). Resolves with the URL the browser was redirected to (the client's
 * redirect URI with `code`, `state`, `iss`), i.e. the first URL outside the AS origin.
 */
export async function completeLoginAndConsent(
  page: Page,
  authorizationUrl: string,
  credentials: { username: string; password: string },
  options: { timeoutMs?: number } = {},
): Promise<string> {
  const timeout = options.timeoutMs ?? 30_000
  const asOrigin = new URL(authorizationUrl).origin
  await page.goto(authorizationUrl, { timeout })
  // waitForURL also matches the current URL, so this is armed only once we are on the AS.
  const leftAs = page.waitForURL(
    (url) => /^https?:$/.test(url.protocol) && url.origin !== asOrigin,
    { timeout, waitUntil: 'commit' },
  )
  // Keep the race from surfacing as an unhandled rejection if a step below throws first.
  leftAs.catch(() => undefined)
  await page.getByLabel('Username').fill(credentials.username, { timeout })
  await page.getByLabel('Password').fill(credentials.password, { timeout })
  await page.getByRole('button', { name: 'Sign in' }).click({ timeout })
  const allow = page.getByRole('button', { name: 'Allow' })
  // A grant that already covers the request skips consent: either Allow shows or we left.
  const next = await Promise.race([
    allow.waitFor({ timeout }).then(() => 'consent' as const),
    leftAs.then(() => 'redirected' as const),
  ])
  if (next === 'consent') await allow.click({ timeout })
  await leftAs
  return page.url()
}
