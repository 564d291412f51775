// `node apps/demo-upstream/src/main.ts`: the demo upstream on DAUTH_UPSTREAM_PORT (4300) with
// the TLS certificate that the dev state folder holds (signed by `.dauth/ca.pem`); env: src/env.ts.
import { readFileSync } from 'node:fs'
import { exitOnConfigError } from '@dauth/protocol/env'
import { type DemoUpstreamEnv, demoUpstreamConfigFromEnv } from './env.ts'
import { startDemoUpstream } from './server.ts'

// A bad variable stops the process before anything starts: one stderr line per problem, exit 78.
let config: DemoUpstreamEnv
try {
  config = demoUpstreamConfigFromEnv(process.env)
} catch (error) {
  exitOnConfigError(error)
}
const upstream = await startDemoUpstream({
  port: config.port,
  certPem: readFileSync(config.certFile, 'utf8'),
  keyPem: readFileSync(config.keyFile, 'utf8'),
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
