// Issue #7: docs/security.md cannot drift. It must be exactly what the threat map renders,
// the map must hold every row of THREATS.md verbatim and in order, and every test it names
// must exist (a `test(…)`/`it(…)` with that exact name in that file).
import assert from 'node:assert/strict'
import { existsSync, readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { describe, test } from 'node:test'
import { REPO_ROOT } from '@dauth/devkit'
import {
  checkTestRefs,
  declaredTestNames,
  parseThreats,
  renderSecurityDoc,
} from '../src/securityDoc.ts'
import { THREAT_MAP } from '../src/threatMap.ts'

/** The design's THREATS.md: `DAUTH_THREATS_FILE`, or the shared design folder beside the repo. */
const THREATS_FILE =
  process.env.DAUTH_THREATS_FILE ?? resolve(REPO_ROOT, '..', 'shared', 'design', 'THREATS.md')

const readSource = (file: string): string | undefined => {
  const path = join(REPO_ROOT, file)
  return existsSync(path) ? readFileSync(path, 'utf8') : undefined
}

describe('docs/security.md', () => {
  test('is exactly what the threat map renders (regenerate: pnpm --filter @dauth/security-tests docs:security)', () => {
    const current = readFileSync(join(REPO_ROOT, 'docs', 'security.md'), 'utf8')
    assert.equal(current, renderSecurityDoc(THREAT_MAP))
  })

  test('every threat names a defence and tests that exist in the repository', () => {
    assert.deepEqual(checkTestRefs(THREAT_MAP, readSource), [])
  })

  test('the threat map holds every row of THREATS.md verbatim, in order', {
    skip: existsSync(THREATS_FILE) ? false : `no THREATS.md at ${THREATS_FILE}`,
  }, () => {
    const rows = parseThreats(readFileSync(THREATS_FILE, 'utf8'))
    assert.ok(rows.length >= 40, `only ${rows.length} rows parsed`)
    assert.deepEqual(
      THREAT_MAP.map(({ section, attack, expected }) => ({ section, attack, expected })),
      rows,
    )
  })
})

describe('the drift checks themselves', () => {
  test('parseThreats reads table rows per section and a paragraph section as one row', () => {
    const markdown = [
      '# Title',
      'Intro text.',
      '## Tokens',
      '| attack | expected |',
      '|---|---|',
      '| `alg: none`; a \\| b | 401 |',
      '## Canary',
      'Seal a canary,',
      'then scan.',
      '## Faults',
      '| fault | expected |',
      '|---|---|',
      '| AS restarts | keys persist |',
    ].join('\n')
    assert.deepEqual(parseThreats(markdown), [
      { section: 'Tokens', attack: '`alg: none`; a | b', expected: '401' },
      { section: 'Canary', attack: 'Seal a canary, then scan.', expected: '' },
      { section: 'Faults', attack: 'AS restarts', expected: 'keys persist' },
    ])
  })

  test('declaredTestNames finds quoted, escaped, template and multi-line names only in test()/it()', () => {
    const source = [
      "test('plain: 401', () => {})",
      'it("another owner\'s handle", async () => {})',
      "test('it\\'s escaped', () => {})",
      'test(`${label} → ${expected}`, () => {})',
      'test(',
      "  'on the next line',",
      '  { skip: false },',
      '  () => {},',
      ')',
      "describe('a suite', () => {})",
      "latest('not a test')",
    ].join('\n')
    assert.deepEqual(declaredTestNames(source), [
      'plain: 401',
      "another owner's handle",
      "it's escaped",
      '${label} → ${expected}',
      'on the next line',
    ])
  })

  test('checkTestRefs reports a missing file, a missing name and an entry without tests', () => {
    const entry = {
      section: 'S',
      attack: 'a',
      expected: 'e',
      defence: 'd',
      tests: [
        { file: 'tests/security/test/threats.test.ts', name: 'no such test name' },
        { file: 'tests/security/test/nowhere.test.ts', name: 'x' },
        {
          file: 'tests/security/test/threats.test.ts',
          name: 'every threat names a defence and tests that exist in the repository',
        },
      ],
    }
    assert.deepEqual(checkTestRefs([entry, { ...entry, tests: [] }], readSource), [
      'tests/security/test/threats.test.ts: no test named "no such test name"',
      'tests/security/test/nowhere.test.ts: no such file',
      '"a": no test',
    ])
  })
})
