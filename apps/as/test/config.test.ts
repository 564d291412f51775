// Start-up configuration: every bad variable gives one exact stderr line and exit status 78,
// checked on the real `src/main.ts`; secrets never appear.
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { runNodeScript, type ScriptRun } from '@dauth/devkit'
import { ConfigError } from '@dauth/protocol/env'
import { configFromEnv } from '../src/config.ts'

const MAIN = join(import.meta.dirname, '../src/main.ts')

const runMain = (env: Record<string, string>): Promise<ScriptRun> => runNodeScript(MAIN, { env })

function problems(env: NodeJS.ProcessEnv): readonly string[] {
  try {
    configFromEnv(env, '/srv')
  } catch (error) {
    assert.ok(error instanceof ConfigError)
    return error.problems
  }
  assert.fail('no ConfigError')
}

describe('AS configuration from the environment', () => {
  it('src/main.ts with every variable bad: one exact line each on stderr, exit 78, nothing started', async () => {
    const { code, stdout, stderr } = await runMain({
      DAUTH_ISSUER: 'http://auth.example.com',
      DAUTH_AS_PORT: 'abc',
      DAUTH_ENCLAVE_URL: 'enclave:4200',
      DAUTH_DEV: 'true',
      DATABASE_URL: 'mysql://dauth:hunter2@db.internal:3306/dauth?password=hunter3',
      REDIS_URL: 'http://:s3cret@redis.internal:6379',
    })
    assert.equal(code, 78)
    assert.equal(stdout, '')
    assert.equal(
      stderr,
      [
        'DAUTH_ISSUER: must use https (http is allowed only for loopback hosts), got "http://auth.example.com"',
        'DAUTH_AS_PORT: must be a port number (0-65535, 0 = a free port), got "abc"',
        'DAUTH_ENCLAVE_URL: must be an absolute http:// or https:// URL, got "enclave:4200"',
        'DAUTH_DEV: must be 1 (on) or 0 (off), got "true"',
        'DATABASE_URL: must be an absolute postgres:// or postgresql:// URL, got "mysql://***@db.internal:3306/dauth?***"',
        'REDIS_URL: must be an absolute redis:// or rediss:// URL, got "http://***@redis.internal:6379/"',
        '',
      ].join('\n'),
    )
    assert.doesNotMatch(stderr, /hunter|s3cret/)
  })

  it('each bad value alone gives its own line', () => {
    assert.deepEqual(problems({ DAUTH_AS_PORT: '65536' }), [
      'DAUTH_AS_PORT: must be a port number (0-65535, 0 = a free port), got "65536"',
    ])
    assert.deepEqual(problems({ DAUTH_AS_PORT: '-1' }), [
      'DAUTH_AS_PORT: must be a port number (0-65535, 0 = a free port), got "-1"',
    ])
    assert.deepEqual(problems({ DAUTH_ISSUER: 'https://auth.example.com/' }), [
      'DAUTH_ISSUER: must not end with a slash, got "https://auth.example.com/"',
    ])
    assert.deepEqual(problems({ DAUTH_ISSUER: 'https://auth.example.com/tenant' }), [
      'DAUTH_ISSUER: must be an origin URL without path, query or fragment, got "https://auth.example.com/tenant"',
    ])
    assert.deepEqual(problems({ DAUTH_ISSUER: 'auth.example.com' }), [
      'DAUTH_ISSUER: must be an absolute https:// URL, got "auth.example.com"',
    ])
    assert.deepEqual(problems({ DAUTH_AS_KEYS_RELOAD_SECONDS: '0' }), [
      'DAUTH_AS_KEYS_RELOAD_SECONDS: must be a positive whole number of seconds, got "0"',
    ])
    assert.deepEqual(problems({ DAUTH_DEV: 'yes' }), [
      'DAUTH_DEV: must be 1 (on) or 0 (off), got "yes"',
    ])
    // Not a URL at all: nothing of it is shown, it could be a bare password.
    assert.deepEqual(problems({ DATABASE_URL: 'hunter2' }), [
      'DATABASE_URL: must be an absolute postgres:// or postgresql:// URL',
    ])
  })

  it('defaults, empty values as unset, and good values as wire.md reads them', () => {
    assert.deepEqual(configFromEnv({ DAUTH_AS_PORT: '', DAUTH_DEV: '' }, '/srv'), {
      issuer: 'http://localhost:4000',
      port: 4000,
      stateDir: '/srv/.dauth',
      enclaveUrl: 'http://127.0.0.1:4200',
      dev: false,
      clientsFile: '/srv/.dauth/clients.json',
      resourcesFile: '/srv/.dauth/resources.json',
      redisKeyPrefix: 'dauth:as:',
      keysReloadSeconds: 30,
    })
    const state = mkdtempSync(join(tmpdir(), 'dauth-as-config-'))
    try {
      assert.deepEqual(
        configFromEnv(
          {
            DAUTH_STATE_DIR: state,
            DAUTH_ISSUER: 'https://auth.example.com',
            DAUTH_AS_PORT: '0',
            DAUTH_ENCLAVE_URL: 'http://enclave:4200',
            DAUTH_DEV: '1',
            DAUTH_AS_CLIENTS_FILE: '/etc/dauth/clients.json',
            DATABASE_URL: 'postgres://dauth:pw@db:5432/dauth',
            REDIS_URL: 'rediss://redis:6380',
            DAUTH_REDIS_PREFIX: 'tenant-a:',
            DAUTH_AS_METRICS_TOKEN: 'metrics-token',
            DAUTH_AS_KEYS_RELOAD_SECONDS: '5',
          },
          '/srv',
        ),
        {
          issuer: 'https://auth.example.com',
          port: 0,
          stateDir: state,
          enclaveUrl: 'http://enclave:4200',
          dev: true,
          clientsFile: '/etc/dauth/clients.json',
          resourcesFile: join(state, 'resources.json'),
          databaseUrl: 'postgres://dauth:pw@db:5432/dauth',
          redisUrl: 'rediss://redis:6380',
          metricsToken: 'metrics-token',
          redisKeyPrefix: 'tenant-a:',
          keysReloadSeconds: 5,
        },
      )
    } finally {
      rmSync(state, { recursive: true, force: true })
    }
  })
})
