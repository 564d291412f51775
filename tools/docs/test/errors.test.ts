import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { DAUTH_CLIENT_ERROR_CODES } from '@dauth/sdk-client'
import { COMPONENTS, codesInRegistry, codesInSource, codesInText } from '../src/errorCodes.ts'
import { repoRoot } from '../src/snippets.ts'

const registry = await readFile(join(repoRoot, 'docs/reference/errors.md'), 'utf8')
const sorted = (codes: Set<string>) => [...codes].sort()

describe('codesInText', () => {
  it('finds every form that produces a code, and nothing in comments', () => {
    const source = `
      // 'ERR_IN_A_COMMENT' and error: 'commented_out'
      /** new HttpError('in_doc_comment', '…') */
      throw new MyError('ERR_THROWN')
      return json(403, { error: 'forbidden', error_description: 'x' })
      throw new HttpError('conflict', 'Upload not pending')
      throw new DispatchRefusal('host_not_allowed', 'ip_literal')
      return wireError('not_found')
      throw new errors.InvalidTarget('unknown resource')
      new errors.CustomOIDCProviderError('invalid_grant', description)
      super(503, 'temporarily_unavailable', {})
      if (code === 'ERR_SOCKET_CLOSED') retry()
      export const HTTP_ERROR_STATUS = {
        bad_request: 400,
        nested: { inner_key: 1 },
      } as const
      const other = { not_a_code: 1 }`
    assert.deepEqual(sorted(codesInText(source)), [
      'ERR_THROWN',
      'bad_request',
      'conflict',
      'forbidden',
      'host_not_allowed',
      'invalid_grant',
      'invalid_target',
      'nested',
      'not_found',
      'temporarily_unavailable',
    ])
  })
})

describe('docs/reference/errors.md', () => {
  for (const component of COMPONENTS) {
    it(`lists exactly the codes of ${component.heading} (${component.src})`, async () => {
      const documented = codesInRegistry(registry, component)
      const produced = await codesInSource(component)
      assert.ok(produced.size > 0, `no codes found in ${component.src}`)
      assert.deepEqual(
        sorted(produced).filter((code) => !documented.has(code)),
        [],
        'produced by the source but missing from the registry',
      )
      assert.deepEqual(
        sorted(documented).filter((code) => !produced.has(code)),
        [],
        'in the registry but produced nowhere in the source',
      )
    })
  }

  it('the client SDK section matches its exported code list exactly', () => {
    const section = codesInRegistry(registry, COMPONENTS[2]!)
    for (const code of DAUTH_CLIENT_ERROR_CODES) assert.ok(section.has(code), code)
  })
})
