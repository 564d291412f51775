import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { MCP_RESOURCE, startTestServer } from './helpers.ts'
import { chromiumAvailable, completeLoginAndConsent, launchTestBrowser } from './helpers/browser.ts'

// The MCP conformance suite (root devDependency), run as its own process like a user would.
const SUITE = fileURLToPath(
  new URL('../../../node_modules/@modelcontextprotocol/conformance/dist/index.js', import.meta.url),
)

async function freePort(): Promise<number> {
  const server = createServer()
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as { port: number }
  server.close()
  await once(server, 'close')
  return port
}

interface Check {
  id: string
  status: string
  errorMessage?: string
}

test('MCP conformance: authorization-server-metadata-endpoint and authorization-code-grant pass with 0 failures, 0 warnings', async (t) => {
  if (!chromiumAvailable()) return t.skip('no Chromium')
  if (!existsSync(SUITE)) return t.skip('conformance suite not installed')
  const server = await startTestServer({ dev: true })
  t.after(() => server.close())
  const outDir = mkdtempSync(join(tmpdir(), 'dauth-as-conformance-'))
  t.after(() => rmSync(outDir, { recursive: true, force: true }))
  const callbackPort = await freePort()

  // A public PKCE client (the suite sends no DPoP proof and authenticates with `none`),
  // registered through open DCR like any MCP client would be.
  const registered = await fetch(`${server.url}/oauth/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      client_name: 'MCP conformance suite',
      redirect_uris: [`http://127.0.0.1:${callbackPort}/callback`],
      token_endpoint_auth_method: 'none',
      grant_types: ['authorization_code'],
      response_types: ['code'],
      dpop_bound_access_tokens: false,
    }),
  })
  assert.equal(registered.status, 201)
  const { client_id: clientId } = (await registered.json()) as { client_id: string }

  const child = spawn(
    process.execPath,
    [
      SUITE,
      'authorization',
      '--url',
      server.url,
      '--client-id',
      clientId,
      '--resource',
      MCP_RESOURCE,
      '--port',
      String(callbackPort),
      '--output-dir',
      outDir,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  )
  t.after(() => {
    if (child.exitCode === null) child.kill('SIGTERM')
  })
  let output = ''
  const exited = once(child, 'exit')
  const authorizationUrl = new Promise<string>((resolve, reject) => {
    const onData = (chunk: Buffer): void => {
      output += chunk.toString()
      const line = output.split('\n').find((l) => l.startsWith(`${server.url}/oauth/authorize?`))
      if (line) {
        child.stdout.off('data', onData)
        child.stdout.on('data', (more: Buffer) => (output += more.toString()))
        resolve(line.trim())
      }
    }
    child.stdout.on('data', onData)
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()))
    void exited.then(() =>
      reject(new Error(`suite exited before the authorization step:\n${output}`)),
    )
  })

  const url = await authorizationUrl
  const browser = await launchTestBrowser()
  t.after(() => browser.close())
  const landed = new URL(
    await completeLoginAndConsent(browser.page, url, {
      username: 'demo',
      password: 'demo-password',
    }),
  )
  // Closed before the AS: Chromium's idle keep-alive sockets would hold its close().
  await browser.close()
  assert.equal(landed.origin, `http://127.0.0.1:${callbackPort}`)
  assert.equal(landed.searchParams.get('iss'), server.url)

  const [code] = await exited
  const checks = new Map<string, Check[]>()
  for (const entry of readdirSync(outDir)) {
    const file = join(outDir, entry, 'checks.json')
    if (existsSync(file)) checks.set(entry, JSON.parse(readFileSync(file, 'utf8')) as Check[])
  }
  const scenario = (name: string): Check[] => {
    const found = [...checks].find(([dir]) => dir.startsWith(`authorization-server-${name}-`))
    assert.ok(found, `no results for ${name} in ${[...checks.keys()].join(', ')}`)
    return found[1]
  }
  assert.equal(code, 0, JSON.stringify([...checks.values()]))
  const summary = (list: Check[]): [string, string][] => list.map((c) => [c.id, c.status])
  assert.deepEqual(summary(scenario('authorization-server-metadata-endpoint')), [
    ['authorization-server-metadata', 'SUCCESS'],
    ['authorization-server-metadata-cimd', 'SUCCESS'],
  ])
  assert.deepEqual(summary(scenario('authorization-code-grant')), [
    ['authorization-code-grant', 'SUCCESS'],
  ])
  const all = [...checks.values()].flat()
  assert.equal(all.filter((c) => c.status === 'FAILURE').length, 0, JSON.stringify(all))
  assert.equal(all.filter((c) => c.status === 'WARNING').length, 0, JSON.stringify(all))
})
