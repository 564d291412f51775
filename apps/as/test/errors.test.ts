import { test } from 'node:test'
import assert from 'node:assert/strict'
import fastify from 'fastify'
import { HttpError, sendError, StorageUnavailableError } from '../src/errors.ts'

test('one error mapper: HttpError as documented, anything else a generic 500 without internals', async () => {
  const app = fastify({ logger: false })
  app.setErrorHandler((error, request, reply) => sendError(error, request, reply))
  app.get('/known', () => {
    throw new HttpError('insufficient_scope', 'The x scope is required', {
      challenge: 'DPoP error="insufficient_scope"',
    })
  })
  app.get('/unknown', () => {
    throw new Error('connection to postgres://admin:hunter2@db failed')
  })
  app.post('/json', () => 'ok')
  app.get('/outage', () => {
    throw new StorageUnavailableError({
      cause: new Error('connect ECONNREFUSED postgres://admin:hunter2@db'),
    })
  })
  app.get('/refused', () => {
    throw Object.assign(new Error('connect ECONNREFUSED 10.0.0.7:5432'), { code: 'ECONNREFUSED' })
  })
  app.get('/sql-bug', () => {
    throw Object.assign(new Error('syntax error at or near "SELEC"'), { code: '42601' })
  })

  const known = await app.inject('/known')
  assert.equal(known.statusCode, 403)
  assert.equal(known.headers['www-authenticate'], 'DPoP error="insufficient_scope"')
  assert.equal(known.headers['cache-control'], 'no-store')
  assert.deepEqual(known.json(), {
    error: 'insufficient_scope',
    error_description: 'The x scope is required',
  })

  const unknown = await app.inject('/unknown')
  assert.equal(unknown.statusCode, 500)
  assert.deepEqual(unknown.json(), {
    error: 'server_error',
    error_description: 'Internal server error',
  })
  assert.equal(unknown.body.includes('hunter2'), false)

  for (const path of ['/outage', '/refused']) {
    const outage = await app.inject(path)
    assert.equal(outage.statusCode, 503, path)
    assert.equal(outage.headers['retry-after'], '5')
    assert.equal(outage.headers['cache-control'], 'no-store')
    assert.deepEqual(outage.json(), {
      error: 'temporarily_unavailable',
      error_description: "The authorization server's storage is temporarily unavailable",
    })
    assert.equal(outage.body.includes('hunter2') || outage.body.includes('10.0.0.7'), false)
  }
  const bug = await app.inject('/sql-bug')
  assert.equal(bug.statusCode, 500)
  assert.equal(bug.headers['retry-after'], undefined)
  assert.deepEqual(bug.json(), {
    error: 'server_error',
    error_description: 'Internal server error',
  })

  const malformed = await app.inject({
    method: 'POST',
    url: '/json',
    headers: { 'content-type': 'application/json' },
    payload: '{',
  })
  assert.equal(malformed.statusCode, 400)
  assert.deepEqual(malformed.json(), {
    error: 'invalid_request',
    error_description: 'Malformed JSON body',
  })

  const media = await app.inject({
    method: 'POST',
    url: '/json',
    headers: { 'content-type': 'text/xml' },
    payload: '<a/>',
  })
  assert.equal(media.statusCode, 415)
  assert.deepEqual(media.json(), {
    error: 'unsupported_media_type',
    error_description: 'Unsupported content type',
  })
  await app.close()
})

test('README documents exactly the error codes the code defines (both ways)', async () => {
  const { readFile } = await import('node:fs/promises')
  const { HTTP_ERROR_STATUS } = await import('../src/index.ts')
  const readme = await readFile(new URL('../README.md', import.meta.url), 'utf8')
  const section = readme.slice(readme.indexOf('## Error codes'))
  const documented = new Map<string, number>()
  for (const match of section.matchAll(
    /^\|\s*`([a-z_]+)`(?:\s*\/\s*`([a-z_]+)`)?\s*\|\s*(\d+)(?:\s*\/\s*(\d+))?\s*\|/gm,
  )) {
    documented.set(match[1]!, Number(match[3]))
    if (match[2]) documented.set(match[2], Number(match[4]))
  }
  assert.deepEqual(
    Object.fromEntries([...documented].sort()),
    Object.fromEntries(Object.entries(HTTP_ERROR_STATUS).sort()),
  )
})
