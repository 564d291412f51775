// `pnpm dev`: the whole stack on the ports of ARCHITECTURE.md, state in `.dauth/` (or
// DAUTH_STATE_DIR), logs prefixed by service, and a clean stop on Ctrl-C.
import { readFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { calculateJwkThumbprint } from '@dauth/protocol'
import { REPO_ROOT, type ServiceName, startStack } from './stack.ts'

const stateDir = resolve(process.env.DAUTH_STATE_DIR ?? join(REPO_ROOT, '.dauth'))
const colors: Record<ServiceName, string> = { as: '36', mcp: '35', enclave: '33', upstream: '32' }
const tty = process.stdout.isTTY
const label = (name: ServiceName) =>
  tty ? `\u001b[${colors[name]}m${name.padEnd(8)}\u001b[0m` : name.padEnd(8)

let stopping = false
const stack = await startStack({
  stateDir,
  ports: { as: 4000, mcp: 4100, enclave: 4200, upstream: 4300 },
  onLine: (service, _stream, line) => {
    if (!stopping) process.stdout.write(`${label(service)} ${line}\n`)
  },
}).catch((error: unknown) => {
  process.stderr.write(`pnpm dev: the stack did not start.\n${(error as Error).message}\n`)
  process.exit(1)
})

const attestation = JSON.parse(await readFile(stack.paths.attestationFile, 'utf8')) as {
  platform_jwk: JsonWebKey
}
const thumbprint = await calculateJwkThumbprint(attestation.platform_jwk)
process.stdout.write(`
DAuth dev stack is up (state: ${stateDir})
  authorization server  ${stack.issuer}
  example MCP server    ${stack.mcpUrl}
  enclave               ${stack.enclaveUrl}   (loopback only)
  demo upstream         ${stack.upstreamUrl}   (dev CA: ${stack.paths.caPem})
  enclave platform key  ${thumbprint}   (pinned in ${stack.paths.attestationFile})
  dev account           demo / demo-password   (dev only)

Try it:  pnpm demo
Stop:    Ctrl-C
`)

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    stopping = true
    process.stdout.write('\nStopping the DAuth dev stack…\n')
    void stack.stop().then(() => process.exit(0))
  })
}
for (const [name, child] of Object.entries(stack.processes)) {
  child.once('exit', (code) => {
    if (stopping) return
    process.stderr.write(`${name} exited unexpectedly (code ${code}); stopping the stack.\n`)
    stopping = true
    void stack.stop().then(() => process.exit(1))
  })
}
