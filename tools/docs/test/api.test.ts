import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { convertApi } from '../src/api.ts'

describe('API reference (typedoc)', () => {
  it('converts every public entry point with no broken link, unexported type or warning', async () => {
    // emit "none": the same conversion and validation as `pnpm --filter @dauth/docs api`,
    // with warnings counted as errors, but nothing written.
    assert.deepEqual(await convertApi('none'), { errors: 0, warnings: 0 })
  })
})
