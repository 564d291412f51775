// Start-up configuration: every bad variable gives one exact stderr line and exit status 78,
// checked on the real `src/main.ts`; secrets never appear.
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { describe, it } from 'node:test'
import { runNodeScript, type ScriptRun } from '@dauth/devkit'
import { ConfigError } from '@dauth/protocol/env'
import { enclaveConfigFromEnv } from '../../src/config.ts'

const MAIN = resolve(import.meta.dirname, '../../src/main.ts')

const runMain = (env: Record<string, string>): Promise<ScriptRun> => runNodeScript(MAIN, { env })

function problems(env: NodeJS.ProcessEnv): readonly string[] {
  try {
    enclaveConfigFromEnv(env, '/repo')
  } catch (error) {
    assert.ok(error instanceof ConfigError)
    return error.problems
  }
  assert.fail('no ConfigError')
}

describe('enclave configuration from the environment', () => {
  it('src/main.ts with every variable bad: one exact line each on stderr, exit 78, nothing started', async () => {
    const { code, stdout, stderr } = await runMain({
      DAUTH_ISSUER: 'http://as.internal:4000',
      DAUTH_ENCLAVE_HOST: 'enclave.internal',
      DAUTH_ENCLAVE_PORT: '4200x',
      DAUTH_ENCLAVE_URL: 'ftp://enclave',
      DAUTH_ENCLAVE_CLIENT_KEY_FILE: '/nonexistent/enclave.jwk.json',
      DAUTH_ENCLAVE_DEV_UPSTREAMS: 'on',
      DAUTH_ENCLAVE_EXTRA_CA: '/nonexistent/ca.pem',
      DAUTH_ENCLAVE_TEST_HOOKS: '2',
      REDIS_URL: 'redis//user:hunter2@redis',
      DAUTH_ENCLAVE_UPSTREAM_TIMEOUT_MS: '0',
      DAUTH_ENCLAVE_MAX_RESPONSE_BYTES: '1e6',
    })
    assert.equal(code, 78)
    assert.equal(stdout, '')
    assert.equal(
      stderr,
      [
        'DAUTH_ISSUER: must use https (http is allowed only for loopback hosts), got "http://as.internal:4000"',
        'DAUTH_ENCLAVE_HOST: must be an IP address, e.g. 127.0.0.1, 0.0.0.0 or ::, got "enclave.internal"',
        'DAUTH_ENCLAVE_PORT: must be a port number (0-65535, 0 = a free port), got "4200x"',
        'DAUTH_ENCLAVE_URL: must be an absolute http:// or https:// URL, got "ftp://enclave"',
        'DAUTH_ENCLAVE_CLIENT_KEY_FILE: must name an existing file, got "/nonexistent/enclave.jwk.json"',
        'DAUTH_ENCLAVE_DEV_UPSTREAMS: must be 1 (on) or 0 (off), got "on"',
        'DAUTH_ENCLAVE_EXTRA_CA: must name an existing file, got "/nonexistent/ca.pem"',
        'DAUTH_ENCLAVE_TEST_HOOKS: must be 1 (on) or 0 (off), got "2"',
        // Not a URL: nothing of it is shown.
        'REDIS_URL: must be an absolute redis:// or rediss:// URL',
        'DAUTH_ENCLAVE_UPSTREAM_TIMEOUT_MS: must be a positive whole number of milliseconds, got "0"',
        'DAUTH_ENCLAVE_MAX_RESPONSE_BYTES: must be a positive whole number of bytes, got "1e6"',
        '',
      ].join('\n'),
    )
    assert.doesNotMatch(stderr, /hunter2/)
  })

  it('each bad value alone gives its own line', () => {
    assert.deepEqual(problems({ DAUTH_ENCLAVE_PORT: '99999' }), [
      'DAUTH_ENCLAVE_PORT: must be a port number (0-65535, 0 = a free port), got "99999"',
    ])
    assert.deepEqual(problems({ DAUTH_ENCLAVE_UPSTREAM_TIMEOUT_MS: '2.5' }), [
      'DAUTH_ENCLAVE_UPSTREAM_TIMEOUT_MS: must be a positive whole number of milliseconds, got "2.5"',
    ])
    assert.deepEqual(problems({ REDIS_URL: 'https://:hunter2@redis:6379' }), [
      'REDIS_URL: must be an absolute redis:// or rediss:// URL, got "https://***@redis:6379/"',
    ])
    assert.deepEqual(problems({ DAUTH_ENCLAVE_HOST: '[::1]' }), [
      'DAUTH_ENCLAVE_HOST: must be an IP address, e.g. 127.0.0.1, 0.0.0.0 or ::, got "[::1]"',
    ])
    // Every interface, but no URL to reach it at: dispatch tokens' `aud` would name no host.
    for (const host of ['0.0.0.0', '::'])
      assert.deepEqual(problems({ DAUTH_ENCLAVE_HOST: host }), [
        `DAUTH_ENCLAVE_URL: must be set when DAUTH_ENCLAVE_HOST is ${host} (the URL the AS and the MCP servers reach the enclave at)`,
      ])
    // A folder is not a file.
    assert.deepEqual(problems({ DAUTH_ENCLAVE_EXTRA_CA: tmpdir() }), [
      `DAUTH_ENCLAVE_EXTRA_CA: must name an existing file, got ${JSON.stringify(tmpdir())}`,
    ])
  })

  it('defaults, empty values as unset, and good values', () => {
    assert.deepEqual(enclaveConfigFromEnv({ DAUTH_ENCLAVE_PORT: '', REDIS_URL: '' }, '/repo'), {
      stateDir: '/repo/.dauth',
      issuer: 'http://localhost:4000',
      host: '127.0.0.1',
      port: 4200,
      devUpstreams: false,
      testHooks: false,
      upstreamTimeoutMs: 30_000,
      maxResponseBytes: 10_485_760,
      replayKeyPrefix: 'dauth:enclave:jti:',
    })
    const dir = mkdtempSync(join(tmpdir(), 'dauth-enclave-config-'))
    try {
      const key = join(dir, 'enclave.jwk.json')
      const ca = join(dir, 'ca.pem')
      writeFileSync(key, '{}')
      writeFileSync(ca, '')
      assert.deepEqual(
        enclaveConfigFromEnv(
          {
            DAUTH_STATE_DIR: dir,
            DAUTH_ISSUER: 'https://auth.example.com',
            DAUTH_ENCLAVE_HOST: '0.0.0.0',
            DAUTH_ENCLAVE_PORT: '0',
            DAUTH_ENCLAVE_URL: 'http://enclave:4200',
            DAUTH_ENCLAVE_CLIENT_KEY_FILE: key,
            DAUTH_ENCLAVE_DEV_UPSTREAMS: '1',
            DAUTH_ENCLAVE_EXTRA_CA: ca,
            DAUTH_ENCLAVE_TEST_HOOKS: '0',
            REDIS_URL: 'redis://redis:6379',
            DAUTH_ENCLAVE_UPSTREAM_TIMEOUT_MS: '5000',
            DAUTH_ENCLAVE_MAX_RESPONSE_BYTES: '1024',
            DAUTH_ENCLAVE_REDIS_PREFIX: 'stack-b:enclave:',
          },
          '/repo',
        ),
        {
          stateDir: dir,
          issuer: 'https://auth.example.com',
          host: '0.0.0.0',
          port: 0,
          devUpstreams: true,
          testHooks: false,
          upstreamTimeoutMs: 5000,
          maxResponseBytes: 1024,
          replayKeyPrefix: 'stack-b:enclave:',
          enclaveUrl: 'http://enclave:4200',
          clientKeyFile: key,
          extraCaFile: ca,
          redisUrl: 'redis://redis:6379',
        },
      )
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
