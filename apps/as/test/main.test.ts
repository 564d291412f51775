import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { once } from 'node:events'

async function freePort(): Promise<number> {
  const server = createServer()
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as { port: number }
  server.close()
  await once(server, 'close')
  return port
}

test('src/main.ts serves the issuer from env, logs "listening", exits 0 on SIGTERM', async () => {
  const stateDir = mkdtempSync(join(tmpdir(), 'dauth-as-main-'))
  try {
    const port = await freePort()
    const issuer = `http://127.0.0.1:${port}`
    writeFileSync(join(stateDir, 'resources.json'), JSON.stringify({ resources: [] }))
    writeFileSync(join(stateDir, 'clients.json'), JSON.stringify([]))
    const child = spawn(process.execPath, [join(import.meta.dirname, '../src/main.ts')], {
      env: {
        ...process.env,
        DAUTH_ISSUER: issuer,
        DAUTH_AS_PORT: String(port),
        DAUTH_STATE_DIR: stateDir,
        DAUTH_DEV: '1',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stdout = ''
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString()
    })
    const exited = once(child, 'exit')
    // Wait for the log line, not for time.
    while (!stdout.includes('"msg":"listening"')) {
      if (child.exitCode !== null) assert.fail(`exited early: ${stdout}`)
      await new Promise((resolve) => setImmediate(resolve))
      await once(child.stdout, 'data').catch(() => undefined)
    }
    const line = stdout.split('\n').find((l) => l.includes('"msg":"listening"'))!
    assert.equal((JSON.parse(line) as { url: string }).url, issuer)
    const metadata = await fetch(`${issuer}/.well-known/oauth-authorization-server`)
    assert.equal(metadata.status, 200)
    assert.equal(((await metadata.json()) as { issuer: string }).issuer, issuer)
    child.kill('SIGTERM')
    const [code] = await exited
    assert.equal(code, 0)
  } finally {
    rmSync(stateDir, { recursive: true, force: true })
  }
})
