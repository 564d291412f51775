import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import { describe, it } from 'node:test'
import { CONFIG_REFERENCE, renderConfigReference } from '../src/configReference.ts'

describe('configuration reference', () => {
  it('docs/reference/config.md is what the env schemas generate (pnpm --filter @dauth/docs config-reference)', async () => {
    assert.equal(await readFile(CONFIG_REFERENCE, 'utf8'), renderConfigReference())
  })
})
