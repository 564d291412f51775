import type { RequirementSet, Role } from './requirements.ts'

/** One scenario to run: which role, under which requirement set, at which spec version. */
export interface PlannedScenario {
  readonly role: Role
  /** Requirement set (revision), or a named group such as `extensions` or `2025-03-26`. */
  readonly set: string
  readonly scenario: string
  /** `--spec-version` to pin (the set's wire); `undefined` = the suite's default. */
  readonly specVersion: string | undefined
  /** Not scored by the set (`extension`, `added-after-release`, …), but run: it must still pass. */
  readonly notScored?: string
}

/** A scenario deliberately not run, with the reason (shown in the report). */
export interface ExcludedScenario {
  readonly role: Role
  readonly set: string
  readonly scenario: string
  readonly reason: string
}

/** A named group of scenarios outside any requirement set (extensions, back-compat). */
export interface ScenarioGroup {
  readonly name: string
  readonly specVersion: string | undefined
  readonly scenarios: readonly string[]
}

/** What one role runs: requirement sets (scored + not scored) and extra groups. */
export interface RolePlan {
  readonly role: Role
  readonly requirementSets: readonly string[]
  readonly groups: readonly ScenarioGroup[]
  /** Scenarios left out on purpose: scenario name → reason. */
  readonly excluded: Readonly<Record<string, string>>
}

/**
 * Expands a role plan against the loaded requirement sets: each set's scored scenarios and
 * its not-scored ones (unless excluded) at the set's revision, then each group.
 */
export function expandPlan(
  plan: RolePlan,
  sets: ReadonlyMap<string, RequirementSet>,
): { scenarios: PlannedScenario[]; excluded: ExcludedScenario[] } {
  const scenarios: PlannedScenario[] = []
  const excluded: ExcludedScenario[] = []
  const seenExcluded = new Set<string>()
  const add = (
    set: string,
    scenario: string,
    specVersion: string | undefined,
    notScored?: string,
  ): void => {
    const reason = plan.excluded[scenario]
    if (reason !== undefined) {
      if (!seenExcluded.has(scenario)) excluded.push({ role: plan.role, set, scenario, reason })
      seenExcluded.add(scenario)
      return
    }
    scenarios.push({
      role: plan.role,
      set,
      scenario,
      specVersion,
      ...(notScored !== undefined ? { notScored } : {}),
    })
  }
  const grouped = new Set(plan.groups.flatMap((g) => g.scenarios))
  for (const revision of plan.requirementSets) {
    const set = sets.get(revision)
    if (set === undefined) throw new Error(`Requirement set ${revision} is not loaded`)
    for (const scenario of set.scored) add(revision, scenario, revision)
    for (const { scenario, reason } of set.notScored) {
      // Extensions are run once, in their own group, not once per revision.
      if (grouped.has(scenario)) continue
      // An extension no group runs is optional (SEP-1730): list it as not run, never hide it.
      if (reason === 'extension' && plan.excluded[scenario] === undefined) {
        if (!seenExcluded.has(scenario)) {
          excluded.push({
            role: plan.role,
            set: revision,
            scenario,
            reason: 'optional extension (SEP-1730) this role does not implement',
          })
          seenExcluded.add(scenario)
        }
        continue
      }
      add(revision, scenario, revision, reason)
    }
  }
  for (const group of plan.groups) {
    for (const scenario of group.scenarios) add(group.name, scenario, group.specVersion)
  }
  return { scenarios, excluded }
}

/** The roles this repository runs, each against its own target (see `targets.ts`). */
export const ROLE_PLANS: readonly RolePlan[] = [
  {
    role: 'client',
    requirementSets: ['2025-11-25', '2026-07-28'],
    groups: [
      {
        name: 'extensions',
        specVersion: undefined,
        scenarios: [
          'auth/client-credentials-basic',
          'auth/client-credentials-jwt',
          'auth/dpop',
          'auth/dpop-nonce',
          'auth/enterprise-managed-authorization',
          'auth/wif-jwt-bearer',
        ],
      },
      {
        name: '2025-03-26',
        specVersion: '2025-03-26',
        scenarios: [
          'auth/2025-03-26-oauth-metadata-backcompat',
          'auth/2025-03-26-oauth-endpoint-fallback',
        ],
      },
    ],
    excluded: {},
  },
  {
    // apps/conformance-server: packages/mcp-server with its shipped defaults.
    role: 'server',
    requirementSets: ['2025-11-25', '2026-07-28'],
    groups: [
      {
        // The tasks extension (SEP-2663) exists only on the 2026-07-28 wire.
        name: 'extensions',
        specVersion: '2026-07-28',
        scenarios: [
          'tasks-capability-negotiation',
          'tasks-dispatch-and-envelope',
          'tasks-lifecycle',
          'tasks-mrtr-composition',
          'tasks-mrtr-input',
          'tasks-request-headers',
          'tasks-request-state-removal',
          'tasks-required-task-error',
          'tasks-status-notifications',
          'tasks-wire-fields',
        ],
      },
    ],
    excluded: {},
  },
  {
    // The requirement sets have no authorization-server section (the MCP specification
    // leaves the AS out of its scope), so the suite's AS scenarios run as their own group.
    role: 'authorization-server',
    requirementSets: [],
    groups: [
      {
        name: 'authorization-server',
        specVersion: undefined,
        scenarios: ['authorization-server-metadata-endpoint', 'authorization-code-grant'],
      },
    ],
    excluded: {},
  },
]
