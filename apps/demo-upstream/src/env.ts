/**
 * The demo upstream's environment variables (wire.md "Environment and state folder"): one zod
 * schema, from which `docs/reference/config.md` is generated, and its reading.
 *
 * @module
 */
import { existsSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { ConfigError, filePath, parseEnv, port } from '@dauth/protocol/env'
import { z } from 'zod'

export const demoUpstreamEnvSchema = z.object({
  DAUTH_STATE_DIR: filePath({
    description:
      'state folder (holds the dev TLS certificate `upstream/cert.pem`, `upstream/key.pem`)',
    defaultText: '`<repo>/.dauth`',
  }),
  DAUTH_UPSTREAM_PORT: port({
    default: '4300',
    allowZero: true,
    description: 'listen port (0 = a free port)',
  }),
  DAUTH_UPSTREAM_CERT: filePath({
    mustExist: true,
    description: 'PEM TLS certificate',
    defaultText: '`<state>/upstream/cert.pem`',
  }),
  DAUTH_UPSTREAM_KEY: filePath({
    mustExist: true,
    description: 'PEM private key of the TLS certificate',
    defaultText: '`<state>/upstream/key.pem`',
  }),
})

/** What `src/main.ts` starts the upstream with. */
export interface DemoUpstreamEnv {
  port: number
  certFile: string
  keyFile: string
}

/**
 * Reads {@link demoUpstreamEnvSchema} from `env`; the default certificate and key files must
 * exist too (`pnpm dev` writes them on its first run).
 *
 * @throws {ConfigError} listing every bad variable, one line each.
 */
export function demoUpstreamConfigFromEnv(
  env: NodeJS.ProcessEnv,
  repoRoot = resolve(import.meta.dirname, '../../..'),
): DemoUpstreamEnv {
  const vars = parseEnv(demoUpstreamEnvSchema, env)
  const stateDir = resolve(vars.DAUTH_STATE_DIR ?? join(repoRoot, '.dauth'))
  const config = {
    port: vars.DAUTH_UPSTREAM_PORT,
    certFile: vars.DAUTH_UPSTREAM_CERT ?? join(stateDir, 'upstream', 'cert.pem'),
    keyFile: vars.DAUTH_UPSTREAM_KEY ?? join(stateDir, 'upstream', 'key.pem'),
  }
  const problems: string[] = []
  if (vars.DAUTH_UPSTREAM_CERT === undefined && !existsSync(config.certFile))
    problems.push(
      `DAUTH_UPSTREAM_CERT: unset and the default ${config.certFile} does not exist (pnpm dev creates it)`,
    )
  if (vars.DAUTH_UPSTREAM_KEY === undefined && !existsSync(config.keyFile))
    problems.push(
      `DAUTH_UPSTREAM_KEY: unset and the default ${config.keyFile} does not exist (pnpm dev creates it)`,
    )
  if (problems.length > 0) throw new ConfigError(problems)
  return config
}
