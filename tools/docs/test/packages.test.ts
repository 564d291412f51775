import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { promisify } from 'node:util'
import { checkPackedPackage, lintTarball, PUBLISHED_PACKAGES } from '../src/pack.ts'

describe('lintTarball', () => {
  it('reports an exports map that points at files the tarball lacks', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'dauth-pack-broken-'))
    try {
      await mkdir(join(dir, 'dist'))
      await writeFile(join(dir, 'dist/index.js'), 'export const a = 1\n')
      await writeFile(
        join(dir, 'package.json'),
        JSON.stringify({
          name: 'broken',
          version: '1.0.0',
          type: 'module',
          files: ['dist'],
          // The types file is never built: consumers would get untyped imports.
          exports: { '.': { types: './dist/index.d.ts', default: './dist/index.js' } },
        }),
      )
      await promisify(execFile)('pnpm', ['pack', '--pack-destination', dir], { cwd: dir })
      const tarball = (await readdir(dir)).find((name) => name.endsWith('.tgz'))
      const report = await lintTarball(join(dir, tarball ?? ''))
      assert.ok(
        report.publint.some((line) => line.startsWith('error FILE_DOES_NOT_EXIST')),
        report.publint.join('\n'),
      )
      assert.ok(report.attw.length > 0, 'arethetypeswrong reports the missing types')
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})

describe('published packages, as packed', () => {
  for (const dir of PUBLISHED_PACKAGES) {
    it(`${dir}: publint and arethetypeswrong find nothing in the tarball`, async () => {
      const report = await checkPackedPackage(dir)
      assert.deepEqual(report.publint, [], 'publint')
      assert.deepEqual(report.attw, [], 'arethetypeswrong (esm-only profile)')
      // publishConfig applied: consumers get dist/, never the .ts sources as entry points.
      const exported = JSON.stringify(report.manifest.exports)
      assert.match(exported, /\.\/dist\/index\.d\.ts/)
      assert.doesNotMatch(exported, /\.\/src\//)
      for (const [name, range] of Object.entries(report.manifest.dependencies ?? {})) {
        assert.ok(!range.startsWith('workspace:'), `${name}: ${range}`)
      }
    })
  }
})
