import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { DPOP_CHALLENGE, ENCLAVE_ERRORS } from '../../src/index.ts'
import { wireError } from '../../src/errors.ts'

describe('error codes', () => {
  it('README documents exactly the codes and statuses of ENCLAVE_ERRORS (both ways)', () => {
    const readme = readFileSync(join(import.meta.dirname, '../../README.md'), 'utf8')
    const section = readme.slice(
      readme.indexOf('### Errors'),
      readme.indexOf('## Credential injection'),
    )
    const documented = Object.fromEntries(
      [...section.matchAll(/^\| `([a-z_]+)`\s*\| (\d{3})\s*\|/gm)].map((m) => [m[1], Number(m[2])]),
    )
    const actual = Object.fromEntries(
      Object.entries(ENCLAVE_ERRORS).map(([code, info]) => [code, info.status]),
    )
    assert.deepEqual(documented, actual)
  })

  it('invalid_token carries the DPoP challenge; others do not', () => {
    assert.deepEqual(wireError('invalid_token'), {
      status: 401,
      headers: {
        'content-type': 'application/json',
        'cache-control': 'no-store',
        'www-authenticate': DPOP_CHALLENGE,
      },
      body: {
        error: 'invalid_token',
        error_description: 'The dispatch token or its DPoP proof is invalid',
      },
    })
    assert.equal(wireError('handle_unavailable').headers['www-authenticate'], undefined)
  })
})
