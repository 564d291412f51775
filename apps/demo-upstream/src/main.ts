// `node apps/demo-upstream/src/main.ts`: the demo upstream on DAUTH_UPSTREAM_PORT (4300) with
// the TLS certificate that the dev state folder holds (signed by `.dauth/ca.pem`).
import { readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { startDemoUpstream } from './server.ts'

const stateDir = resolve(
  process.env.DAUTH_STATE_DIR ?? join(import.meta.dirname, '../../../.dauth'),
)
const upstream = await startDemoUpstream({
  port: Number(process.env.DAUTH_UPSTREAM_PORT ?? 4300),
  certPem: readFileSync(
    process.env.DAUTH_UPSTREAM_CERT ?? join(stateDir, 'upstream/cert.pem'),
    'utf8',
  ),
  keyPem: readFileSync(
    process.env.DAUTH_UPSTREAM_KEY ?? join(stateDir, 'upstream/key.pem'),
    'utf8',
  ),
  log: (entry) =>
    process.stdout.write(
      `${JSON.stringify({ time: Date.now(), service: 'demo-upstream', ...entry })}\n`,
    ),
})
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    void upstream.close().then(() => process.exit(0))
  })
}
