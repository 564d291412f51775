import assert from 'node:assert/strict'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import {
  expandPlan,
  loadRequirementSet,
  locateSuite,
  parseRequirementSet,
  renderReport,
  ROLE_PLANS,
  readChecks,
  summarize,
  SUITE_COMMAND,
  type PlannedScenario,
  type RequirementSet,
  type RolePlan,
  type SuiteCheck,
} from '@dauth/conformance'

const YAML = `
server:
  - ping
client:
  - initialize
  - auth/metadata-default
not_scored:
  - scenario: auth/dpop
    leg: client
    reason: extension
  - scenario: auth/wif
    leg: client
    reason: extension
  - scenario: json-schema-2020-12-preservation
    leg: client
    reason: added-after-release
  - scenario: server-sse-polling
    leg: server
    reason: pending
`

describe('requirement sets', () => {
  it('reads the role list and the role’s not-scored entries', () => {
    assert.deepEqual(parseRequirementSet('2099-01-01', YAML, 'client'), {
      revision: '2099-01-01',
      scored: ['initialize', 'auth/metadata-default'],
      notScored: [
        { scenario: 'auth/dpop', reason: 'extension' },
        { scenario: 'auth/wif', reason: 'extension' },
        { scenario: 'json-schema-2020-12-preservation', reason: 'added-after-release' },
      ],
    })
    assert.deepEqual(parseRequirementSet('2099-01-01', YAML, 'server').scored, ['ping'])
  })

  it('refuses a document of another shape', () => {
    assert.throws(() => parseRequirementSet('x', 'client: 3\n', 'client'), /not a list/)
    assert.throws(() => parseRequirementSet('x', '- a\n', 'client'), /not a YAML mapping/)
  })

  it('loads the installed suite’s sets for every planned revision', async () => {
    const suite = await locateSuite()
    assert.match(suite.version, /^\d+\.\d+\.\d+/)
    for (const plan of ROLE_PLANS) {
      for (const revision of plan.requirementSets) {
        const set = await loadRequirementSet(suite.root, revision, plan.role)
        assert.ok(set.scored.length > 0, `${revision} lists ${plan.role} scenarios`)
      }
    }
  })
})

describe('expandPlan', () => {
  const plan: RolePlan = {
    role: 'client',
    requirementSets: ['2099-01-01'],
    groups: [{ name: 'extensions', specVersion: undefined, scenarios: ['auth/dpop'] }],
    excluded: { 'auth/wif': 'not implemented' },
  }
  const sets = new Map<string, RequirementSet>([
    ['2099-01-01', parseRequirementSet('2099-01-01', YAML, 'client')],
  ])

  it('runs scored and non-extension not-scored scenarios at the revision, extensions once in their group', () => {
    const { scenarios, excluded } = expandPlan(plan, sets)
    assert.deepEqual(
      scenarios.map((s) => [s.set, s.scenario, s.specVersion, s.notScored]),
      [
        ['2099-01-01', 'initialize', '2099-01-01', undefined],
        ['2099-01-01', 'auth/metadata-default', '2099-01-01', undefined],
        ['2099-01-01', 'json-schema-2020-12-preservation', '2099-01-01', 'added-after-release'],
        ['extensions', 'auth/dpop', undefined, undefined],
      ],
    )
    assert.deepEqual(excluded, [
      { role: 'client', set: '2099-01-01', scenario: 'auth/wif', reason: 'not implemented' },
    ])
  })

  it('lists an extension that no group runs as not run, with the reason', () => {
    const { scenarios, excluded } = expandPlan({ ...plan, groups: [] }, sets)
    assert.ok(!scenarios.some((s) => s.scenario === 'auth/dpop'))
    assert.deepEqual(excluded, [
      {
        role: 'client',
        set: '2099-01-01',
        scenario: 'auth/dpop',
        reason: 'optional extension (SEP-1730) this role does not implement',
      },
      { role: 'client', set: '2099-01-01', scenario: 'auth/wif', reason: 'not implemented' },
    ])
  })

  it('fails when a planned set was not loaded', () => {
    assert.throws(
      () => expandPlan({ ...plan, requirementSets: ['1999-01-01'] }, sets),
      /not loaded/,
    )
  })
})

describe('results and report', () => {
  const planned: PlannedScenario = {
    role: 'client',
    set: '2026-07-28',
    scenario: 'request-metadata',
    specVersion: '2026-07-28',
  }
  const check = (status: SuiteCheck['status'], id = 'c'): SuiteCheck => ({
    id,
    status,
    description: `d-${id}`,
  })

  it('classifies like the suite: failure, warning, client error, pass', () => {
    const fail = summarize(planned, [check('SUCCESS'), check('FAILURE', 'x')], 1, 1)
    assert.deepEqual([fail.outcome, fail.passed, fail.failed, fail.warnings], ['fail', 1, 1, 0])
    assert.deepEqual(fail.problems, ['FAILURE x: d-x'])
    const warn = summarize(planned, [check('SUCCESS'), check('WARNING', 'w')], 1, 1)
    assert.deepEqual([warn.outcome, warn.warnings], ['warn', 1])
    const crashed = summarize(planned, [check('SUCCESS')], 1, 1)
    assert.equal(crashed.outcome, 'fail')
    assert.deepEqual(crashed.problems, ['the suite exited with 1 (client error or timeout)'])
    const pass = summarize(planned, [check('SUCCESS'), check('INFO'), check('SKIPPED')], 0, 1)
    assert.deepEqual([pass.outcome, pass.passed, pass.failed], ['pass', 1, 0])
  })

  it('renders one row per scenario and the not-run list', () => {
    const report = renderReport({
      suiteVersion: '9.9.9',
      generatedAt: '2099-01-01',
      command: 'pnpm conformance',
      seconds: 61.4,
      results: [
        summarize(planned, [check('SUCCESS'), check('SUCCESS')], 0, 1),
        summarize(
          { ...planned, scenario: 'x', notScored: 'added-after-release' },
          [check('WARNING')],
          1,
          1,
        ),
      ],
      excluded: [{ role: 'client', set: '2026-07-28', scenario: 'auth/wif', reason: 'why' }],
    })
    assert.ok(report.includes('`@modelcontextprotocol/conformance@9.9.9` on 2099-01-01;'))
    assert.ok(report.includes('**1/2 scenarios pass** — 2 checks passed, 0 failed, 1 warnings.'))
    const table = report.slice(report.indexOf('| Role'), report.indexOf('\n\n## Not run'))
    assert.deepEqual(table.split('\n'), [
      '| Role   | Requirement set                              | Scenario           | Result   | Checks passed | Warnings |',
      '| ------ | -------------------------------------------- | ------------------ | -------- | ------------- | -------- |',
      '| client | 2026-07-28                                   | `request-metadata` | pass     | 2/2           | 0        |',
      '| client | 2026-07-28 (not scored: added-after-release) | `x`                | **WARN** | 0/0           | 1        |',
    ])
    assert.ok(report.endsWith('| client | 2026-07-28 | `auth/wif` | why |\n'))
  })
})

describe('chained roles', () => {
  it('runs the authorization-server scenarios in one suite process, without --timeout', () => {
    assert.deepEqual(SUITE_COMMAND['authorization-server'], {
      command: 'authorization',
      perScenarioOptions: false,
      chained: true,
    })
    assert.equal(SUITE_COMMAND.server.chained, false)
  })

  it('reads each scenario of a chained run from the folder the suite named after it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'dauth-conformance-test-'))
    try {
      const write = async (folder: string, id: string): Promise<void> => {
        await mkdir(join(dir, folder), { recursive: true })
        await writeFile(
          join(dir, folder, 'checks.json'),
          JSON.stringify([{ id, status: 'SUCCESS' }]),
        )
      }
      await write(
        'authorization-server-authorization-server-metadata-endpoint-2026-11-24T12-00-00-000Z',
        'meta',
      )
      await write('authorization-server-authorization-code-grant-2026-11-24T12-00-01-000Z', 'grant')
      assert.deepEqual(
        (await readChecks(dir, 'authorization-code-grant'))?.map((c) => c.id),
        ['grant'],
      )
      assert.deepEqual(
        (await readChecks(dir, 'authorization-server-metadata-endpoint'))?.map((c) => c.id),
        ['meta'],
      )
      assert.equal(await readChecks(dir, 'no-such-scenario'), undefined)
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})
