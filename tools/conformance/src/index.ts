/** @dauth/conformance — MCP conformance runs and their report (entry point: src/run.ts). */
export {
  expandPlan,
  ROLE_PLANS,
  type ExcludedScenario,
  type PlannedScenario,
  type RolePlan,
  type ScenarioGroup,
} from './plan.ts'
export {
  loadRequirementSet,
  locateSuite,
  parseRequirementSet,
  repositoryRoot,
  type NotScoredScenario,
  type RequirementSet,
  type Role,
} from './requirements.ts'
export {
  parseChecks,
  readChecks,
  renderReport,
  summarize,
  totals,
  type Outcome,
  type ScenarioResult,
  type SuiteCheck,
} from './results.ts'
export { ROLE_TARGETS, SUITE_COMMAND, type RoleTarget, type RoleTargets } from './targets.ts'
