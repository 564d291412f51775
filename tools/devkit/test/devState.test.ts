import assert from 'node:assert/strict'
import { X509Certificate } from 'node:crypto'
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { ensureDevState } from '../src/index.ts'

const urls = {
  issuer: 'http://localhost:4000',
  mcpUrl: 'http://localhost:4100/mcp',
  enclaveUrl: 'http://127.0.0.1:4200',
}

test('ensureDevState writes a CA-signed upstream certificate, private files 0600, and a registry for the URLs', async () => {
  const stateDir = await mkdtemp(join(tmpdir(), 'dauth-devstate-'))
  try {
    const paths = await ensureDevState({ stateDir, ...urls })
    const ca = new X509Certificate(await readFile(paths.caPem))
    const leaf = new X509Certificate(await readFile(paths.upstreamCert))
    assert.equal(leaf.verify(ca.publicKey), true)
    assert.equal(leaf.checkHost('localhost'), 'localhost')
    assert.equal(leaf.checkIP('127.0.0.1'), '127.0.0.1')
    assert.equal(ca.ca, true)
    for (const file of [
      paths.upstreamKey,
      paths.mcpClientFile,
      paths.enclaveClientKeyFile,
      paths.clientsFile,
    ]) {
      assert.equal((await stat(file)).mode & 0o777, 0o600, file)
    }
    const registry = JSON.parse(await readFile(paths.resourcesFile, 'utf8'))
    assert.deepEqual(registry.resources[0], {
      resource: 'http://localhost:4100/mcp',
      scopes: ['read', 'api:call'],
      connections: ['demo'],
      accessTokenTtl: 300,
      dispatchClients: ['dauth-example-mcp'],
    })
    const clients = JSON.parse(await readFile(paths.clientsFile, 'utf8'))
    const enclave = clients.find((c: { client_id: string }) => c.client_id === 'dauth-enclave')
    assert.equal(enclave.jwks.keys[0].d, undefined, 'only the public key reaches the AS')
    assert.equal(enclave.jwks.keys[0].kty, 'EC')
  } finally {
    await rm(stateDir, { recursive: true, force: true })
  }
})

test('ensureDevState keeps secrets across starts and rewrites URL-derived files', async () => {
  const stateDir = await mkdtemp(join(tmpdir(), 'dauth-devstate-'))
  try {
    const first = await ensureDevState({ stateDir, ...urls })
    const secret1 = await readFile(first.mcpClientFile, 'utf8')
    const ca1 = await readFile(first.caPem, 'utf8')
    await ensureDevState({ stateDir, ...urls, mcpUrl: 'http://localhost:5100/mcp' })
    assert.equal(await readFile(first.mcpClientFile, 'utf8'), secret1)
    assert.equal(await readFile(first.caPem, 'utf8'), ca1)
    const registry = JSON.parse(await readFile(first.resourcesFile, 'utf8'))
    assert.equal(registry.resources[0].resource, 'http://localhost:5100/mcp')
  } finally {
    await rm(stateDir, { recursive: true, force: true })
  }
})
