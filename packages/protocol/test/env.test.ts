import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { z } from 'zod'
import {
  ConfigError,
  describeEnv,
  EX_CONFIG,
  flag,
  issuerProblem,
  parseEnv,
  port,
  positiveInt,
  text,
  url,
} from '../src/env.ts'

const schema = z.object({
  PORT: port({ default: '8080', description: 'listen port' }),
  FLAG: flag({ description: 'a switch' }),
  TOKEN: text({ secrecy: 'secret', description: 'a bearer token' }),
  DB: url({ schemes: ['postgres:'], secrecy: 'url-userinfo', description: 'database' }),
  LIMIT: positiveInt({ default: '10', unit: 'bytes', description: 'a limit' }),
})

function problems(env: NodeJS.ProcessEnv): readonly string[] {
  try {
    parseEnv(schema, env)
  } catch (error) {
    assert.ok(error instanceof ConfigError)
    assert.equal(error.message, `invalid configuration:\n${error.problems.join('\n')}`)
    return error.problems
  }
  assert.fail('no ConfigError')
}

describe('@dauth/protocol/env', () => {
  it('defaults apply to unset and empty variables', () => {
    assert.deepEqual(parseEnv(schema, { PORT: '', FLAG: '' }), {
      PORT: 8080,
      FLAG: false,
      TOKEN: undefined,
      DB: undefined,
      LIMIT: 10,
    })
    assert.deepEqual(
      parseEnv(schema, { PORT: '1', FLAG: '1', TOKEN: 't', DB: 'postgres://h/d', LIMIT: '3' }),
      {
        PORT: 1,
        FLAG: true,
        TOKEN: 't',
        DB: 'postgres://h/d',
        LIMIT: 3,
      },
    )
  })

  it('one line per bad variable, in schema order; port 0 only where allowed', () => {
    assert.deepEqual(problems({ LIMIT: '01', PORT: '0', FLAG: 'TRUE' }), [
      'PORT: must be a port number (1-65535), got "0"',
      'FLAG: must be 1 (on) or 0 (off), got "TRUE"',
      'LIMIT: must be a positive whole number of bytes, got "01"',
    ])
  })

  it('never echoes a secret: URLs lose userinfo and query, unparsable URLs are not shown', () => {
    assert.deepEqual(problems({ DB: 'mysql://admin:pa55@db:3306/x?sslpassword=p' }), [
      'DB: must be an absolute postgres:// URL, got "mysql://***@db:3306/x?***"',
    ])
    assert.deepEqual(problems({ DB: 'pa55word' }), ['DB: must be an absolute postgres:// URL'])
  })

  it('issuers: https origins, http only on loopback hosts', () => {
    assert.equal(issuerProblem('https://auth.example.com'), undefined)
    assert.equal(issuerProblem('http://localhost:4000'), undefined)
    assert.equal(issuerProblem('http://127.0.0.1:4000'), undefined)
    assert.equal(issuerProblem('http://[::1]:4000'), undefined)
    assert.equal(
      issuerProblem('http://10.0.0.1:4000'),
      'must use https (http is allowed only for loopback hosts)',
    )
    assert.equal(
      issuerProblem('https://auth.example.com#x'),
      'must be an origin URL without path, query or fragment',
    )
    assert.equal(issuerProblem('file:///etc/passwd'), 'must be an absolute https:// URL')
  })

  it('describes every variable for the reference table', () => {
    assert.equal(EX_CONFIG, 78)
    assert.deepEqual(
      describeEnv(schema).map((row) => [row.name, row.type, row.default, row.secrecy]),
      [
        ['PORT', 'port 1-65535', '`8080`', 'public'],
        ['FLAG', '`1` or `0`', '`0` (off)', 'public'],
        ['TOKEN', 'string', 'unset', 'secret'],
        ['DB', 'postgres:// URL', 'unset', 'url-userinfo'],
        ['LIMIT', 'integer ≥ 1 (bytes)', '`10`', 'public'],
      ],
    )
    assert.throws(
      () => describeEnv(z.object({ RAW: z.string() })),
      /RAW was not built by @dauth\/protocol\/env/,
    )
  })
})
