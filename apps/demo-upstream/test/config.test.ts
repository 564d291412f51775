// Start-up configuration: every bad variable gives one exact stderr line and exit status 78,
// checked on the real `src/main.ts`.
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { runNodeScript, type ScriptRun } from '@dauth/devkit'
import { demoUpstreamConfigFromEnv } from '../src/index.ts'

const MAIN = join(import.meta.dirname, '../src/main.ts')

const runMain = (env: Record<string, string>): Promise<ScriptRun> => runNodeScript(MAIN, { env })

describe('demo upstream configuration from the environment', () => {
  it('src/main.ts with every variable bad: one exact line each on stderr, exit 78', async () => {
    const { code, stdout, stderr } = await runMain({
      DAUTH_UPSTREAM_PORT: '0x10',
      DAUTH_UPSTREAM_CERT: '/nonexistent/cert.pem',
      DAUTH_UPSTREAM_KEY: '/nonexistent/key.pem',
    })
    assert.equal(code, 78)
    assert.equal(stdout, '')
    assert.equal(
      stderr,
      [
        'DAUTH_UPSTREAM_PORT: must be a port number (0-65535, 0 = a free port), got "0x10"',
        'DAUTH_UPSTREAM_CERT: must name an existing file, got "/nonexistent/cert.pem"',
        'DAUTH_UPSTREAM_KEY: must name an existing file, got "/nonexistent/key.pem"',
        '',
      ].join('\n'),
    )
  })

  it('src/main.ts in an empty state folder: the default certificate and key are missing, exit 78', async () => {
    const state = mkdtempSync(join(tmpdir(), 'dauth-upstream-config-'))
    try {
      const { code, stderr } = await runMain({ DAUTH_STATE_DIR: state })
      assert.equal(code, 78)
      assert.equal(
        stderr,
        [
          `DAUTH_UPSTREAM_CERT: unset and the default ${join(state, 'upstream/cert.pem')} does not exist (pnpm dev creates it)`,
          `DAUTH_UPSTREAM_KEY: unset and the default ${join(state, 'upstream/key.pem')} does not exist (pnpm dev creates it)`,
          '',
        ].join('\n'),
      )
      // With both files named explicitly, the defaults are not looked at.
      assert.deepEqual(
        demoUpstreamConfigFromEnv({
          DAUTH_UPSTREAM_CERT: MAIN,
          DAUTH_UPSTREAM_KEY: MAIN,
          DAUTH_UPSTREAM_PORT: '0',
        }),
        { port: 0, certFile: MAIN, keyFile: MAIN },
      )
    } finally {
      rmSync(state, { recursive: true, force: true })
    }
  })
})
