// `pnpm demo`: walks the credential flow against a running `pnpm dev` and prints each step.
import { join, resolve } from 'node:path'
import { runDemoFlow } from './demoFlow.ts'
import { REPO_ROOT } from './stack.ts'

const stateDir = resolve(process.env.DAUTH_STATE_DIR ?? join(REPO_ROOT, '.dauth'))
try {
  const result = await runDemoFlow({
    issuer: process.env.DAUTH_ISSUER ?? 'http://localhost:4000',
    mcpUrl: process.env.DAUTH_MCP_URL ?? 'http://localhost:4100/mcp',
    upstreamHost: `localhost:${process.env.DAUTH_UPSTREAM_PORT ?? '4300'}`,
    attestationFile: join(stateDir, 'attestation.json'),
    log: (line) => process.stdout.write(`${line}\n`),
  })
  process.exit(result.whoami.credential_sha256 === result.credentialSha256 ? 0 : 1)
} catch (error) {
  process.stderr.write(`pnpm demo failed: ${(error as Error).message}\nIs \`pnpm dev\` running?\n`)
  process.exit(1)
}
