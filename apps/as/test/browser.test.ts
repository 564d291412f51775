import { test } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { createHash, randomBytes } from 'node:crypto'
import { chromium } from 'playwright-core'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { once } from 'node:events'
import { MCP_RESOURCE, startTestServer } from './helpers.ts'

const CHROMIUM = process.env.DAUTH_TEST_CHROMIUM ?? '/usr/bin/chromium'

test('a real browser signs in and consents through the accessible names', async (t) => {
  if (!existsSync(CHROMIUM)) return t.skip(`no Chromium at ${CHROMIUM}`)
  const server = await startTestServer({ dev: true })
  t.after(() => server.close())
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] })
  t.after(() => browser.close())
  const page = await browser.newPage()
  // The client's redirect URI is answered in the browser; nothing listens there.
  // A real loopback redirect URI, registered through open DCR (DAUTH_DEV).
  const callbackServer = createServer((_req, res) =>
    res.writeHead(200, { 'content-type': 'text/plain' }).end('callback'),
  )
  callbackServer.listen(0, '127.0.0.1')
  await once(callbackServer, 'listening')
  t.after(() => callbackServer.close())
  const redirect = new URL(
    `http://127.0.0.1:${(callbackServer.address() as AddressInfo).port}/callback`,
  )
  const registered = await fetch(`${server.url}/oauth/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      client_name: 'Browser <App>',
      redirect_uris: [redirect.href],
      token_endpoint_auth_method: 'none',
      grant_types: ['authorization_code'],
      response_types: ['code'],
    }),
  })
  assert.equal(registered.status, 201)
  const { client_id: clientId } = (await registered.json()) as { client_id: string }

  const verifier = randomBytes(32).toString('base64url')
  const query = new URLSearchParams({
    client_id: clientId,
    response_type: 'code',
    redirect_uri: redirect.href,
    scope: 'read api:call',
    resource: MCP_RESOURCE,
    state: 'browser-state',
    code_challenge: createHash('sha256').update(verifier).digest('base64url'),
    code_challenge_method: 'S256',
  })
  await page.goto(`${server.url}/oauth/authorize?${query}`)
  await page.getByLabel('Username').fill('demo')
  await page.getByLabel('Password').fill('demo-password')
  await page.getByRole('button', { name: 'Sign in' }).click()

  await page.getByRole('button', { name: 'Allow' }).waitFor()
  const text = await page.locator('main').innerText()
  assert.match(text, /Authorize Browser <App>/)
  assert.ok(text.includes(MCP_RESOURCE))
  assert.ok(text.includes('read'))
  assert.ok(text.includes('api:call'))
  assert.equal(await page.getByRole('button', { name: 'Deny' }).count(), 1)
  await Promise.all([
    page.waitForURL((url) => url.origin === redirect.origin && url.pathname === redirect.pathname),
    page.getByRole('button', { name: 'Allow' }).click(),
  ])

  const callback = new URL(page.url())
  assert.equal(callback.searchParams.get('state'), 'browser-state')
  assert.equal(callback.searchParams.get('iss'), server.url)
  assert.match(callback.searchParams.get('code') ?? '', /^[A-Za-z0-9_-]{20,}$/)
})
