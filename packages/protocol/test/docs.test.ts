import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import { describe, it } from 'node:test'

const root = new URL('../', import.meta.url)
const codesIn = (text: string, pattern: RegExp) =>
  new Set([...text.matchAll(pattern)].map((m) => m[1]))

describe('README error code table', () => {
  it('lists exactly the codes the source defines (both ways)', async () => {
    const readme = await readFile(new URL('README.md', root), 'utf8')
    const source =
      (await readFile(new URL('src/errors.ts', root), 'utf8')) +
      (await readFile(new URL('src/secrets/secretBytes.ts', root), 'utf8'))
    const documented = codesIn(readme, /^\|\s*`(ERR_[A-Z_]+)`\s*\|/gm)
    const defined = codesIn(source, /'(ERR_[A-Z_]+)'/g)
    assert.deepEqual([...documented].sort(), [...defined].sort())
    assert.equal(defined.size, 24)
  })
})
