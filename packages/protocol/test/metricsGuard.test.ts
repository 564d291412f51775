import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { METRICS_REFUSAL, metricsGuard } from '../src/index.ts'

describe('metricsGuard', () => {
  it('without a token every scrape passes', () => {
    for (const token of [undefined, '']) {
      const allowed = metricsGuard(token)
      assert.equal(allowed(undefined), true)
      assert.equal(allowed('Bearer anything'), true)
    }
  })

  it('with a token only exactly `Bearer <token>` passes', () => {
    const allowed = metricsGuard('s3cret')
    assert.equal(allowed('Bearer s3cret'), true)
    for (const given of [
      undefined,
      '',
      's3cret',
      'bearer s3cret',
      'Bearer s3creT',
      'Bearer s3cret ',
      'Bearer s3cre',
    ]) {
      assert.equal(allowed(given), false, String(given))
    }
  })

  it('refuses with 401, a Bearer challenge and no caching', () => {
    assert.deepEqual(METRICS_REFUSAL, {
      status: 401,
      headers: { 'www-authenticate': 'Bearer realm="metrics"', 'cache-control': 'no-store' },
      body: { error: 'invalid_token', error_description: 'Metrics require the metrics token' },
    })
  })
})
