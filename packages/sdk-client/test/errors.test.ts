import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import { describe, it } from 'node:test'
import { DAUTH_CLIENT_ERROR_CODES } from '@dauth/sdk-client'

describe('error codes and README agree both ways', () => {
  it('every code is documented and every documented code exists', async () => {
    const readme = await readFile(new URL('../README.md', import.meta.url), 'utf8')
    const section = readme.slice(readme.indexOf('## Errors'), readme.indexOf('## Conformance'))
    const documented = [...section.matchAll(/^\| `(ERR_[A-Z_]+)`\s*\|/gm)].map((m) => m[1])
    assert.deepEqual(documented, [...DAUTH_CLIENT_ERROR_CODES])
  })
})
