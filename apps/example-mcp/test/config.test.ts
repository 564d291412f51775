// Start-up configuration: every bad variable gives one exact stderr line and exit status 78,
// checked on the real `src/main.ts`; secrets never appear.
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { runNodeScript, type ScriptRun } from '@dauth/devkit'
import { ConfigError } from '@dauth/protocol/env'
import { exampleMcpConfigFromEnv } from '../src/index.ts'

const MAIN = join(import.meta.dirname, '../src/main.ts')

const runMain = (env: Record<string, string>): Promise<ScriptRun> => runNodeScript(MAIN, { env })

describe('example MCP server configuration from the environment', () => {
  it('src/main.ts with every variable bad: one exact line each on stderr, exit 78, nothing started', async () => {
    const { code, stdout, stderr } = await runMain({
      DAUTH_ISSUER: 'https://auth.example.com?tenant=a',
      DAUTH_MCP_URL: '/mcp',
      DAUTH_MCP_PORT: '41OO',
      DAUTH_ENCLAVE_URL: 'ws://127.0.0.1:4200',
      REDIS_URL: 'mysql://u:hunter2@redis:6379/0',
    })
    assert.equal(code, 78)
    assert.equal(stdout, '')
    assert.equal(
      stderr,
      [
        'DAUTH_ISSUER: must be an origin URL without path, query or fragment, got "https://auth.example.com?tenant=a"',
        'DAUTH_MCP_URL: must be an absolute http:// or https:// URL, got "/mcp"',
        'DAUTH_MCP_PORT: must be a port number (0-65535, 0 = a free port), got "41OO"',
        'DAUTH_ENCLAVE_URL: must be an absolute http:// or https:// URL, got "ws://127.0.0.1:4200"',
        'REDIS_URL: must be an absolute redis:// or rediss:// URL, got "mysql://***@redis:6379/0"',
        '',
      ].join('\n'),
    )
    assert.doesNotMatch(stderr, /hunter2/)
  })

  it('defaults as wire.md says, the port taken from DAUTH_MCP_URL', () => {
    assert.deepEqual(exampleMcpConfigFromEnv({}, '/repo'), {
      issuer: 'http://localhost:4000',
      resourceUrl: 'http://localhost:4100/mcp',
      port: 4100,
      enclaveUrl: 'http://127.0.0.1:4200',
      clientFile: '/repo/.dauth/clients/example-mcp.json',
      redisPrefix: 'dauth:example-mcp:dpop:',
    })
    assert.deepEqual(
      exampleMcpConfigFromEnv(
        {
          DAUTH_MCP_URL: 'https://mcp.example.com:8443/mcp',
          DAUTH_STATE_DIR: '/state',
          REDIS_URL: 'redis://r:6379',
          DAUTH_MCP_REDIS_PREFIX: 'stack-b:mcp:',
        },
        '/repo',
      ),
      {
        issuer: 'http://localhost:4000',
        resourceUrl: 'https://mcp.example.com:8443/mcp',
        port: 8443,
        enclaveUrl: 'http://127.0.0.1:4200',
        clientFile: '/state/clients/example-mcp.json',
        redisUrl: 'redis://r:6379',
        redisPrefix: 'stack-b:mcp:',
      },
    )
    assert.throws(
      () => exampleMcpConfigFromEnv({ DAUTH_MCP_PORT: '70000' }),
      (error: unknown) =>
        error instanceof ConfigError &&
        error.problems.join('\n') ===
          'DAUTH_MCP_PORT: must be a port number (0-65535, 0 = a free port), got "70000"',
    )
  })
})
