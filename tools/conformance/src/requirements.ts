import { readFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parse } from 'yaml'

/** The conformance suite's three roles (`conformance client|server|authorization-server`). */
export type Role = 'client' | 'server' | 'authorization-server'

/** A scenario a requirement set runs but does not score, and why (`extension`, `added-after-release`, `pending`). */
export interface NotScoredScenario {
  readonly scenario: string
  readonly reason: string
}

/** One role's part of a frozen requirement set (the suite's `requirements/<revision>.yaml`). */
export interface RequirementSet {
  readonly revision: string
  readonly scored: readonly string[]
  readonly notScored: readonly NotScoredScenario[]
}

/** YAML `leg` of a not-scored entry for each role. */
const LEG: Record<Role, string> = {
  client: 'client',
  server: 'server',
  'authorization-server': 'authorization-server',
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/**
 * Reads a requirement set from its YAML text: the role's scored list and its `not_scored`
 * entries. Throws when the document does not have that shape.
 */
export function parseRequirementSet(revision: string, text: string, role: Role): RequirementSet {
  const doc: unknown = parse(text)
  if (!isRecord(doc)) throw new Error(`requirements ${revision}: not a YAML mapping`)
  const scoredRaw = doc[role] ?? []
  if (!Array.isArray(scoredRaw) || !scoredRaw.every((s) => typeof s === 'string')) {
    throw new Error(`requirements ${revision}: ${role} is not a list of scenario names`)
  }
  const notScored: NotScoredScenario[] = []
  const entries = doc.not_scored ?? []
  if (!Array.isArray(entries)) throw new Error(`requirements ${revision}: not_scored is not a list`)
  for (const entry of entries) {
    if (!isRecord(entry) || typeof entry.scenario !== 'string') {
      throw new Error(`requirements ${revision}: malformed not_scored entry`)
    }
    if (entry.leg !== LEG[role]) continue
    notScored.push({
      scenario: entry.scenario,
      reason: typeof entry.reason === 'string' ? entry.reason : 'unspecified',
    })
  }
  return { revision, scored: scoredRaw, notScored }
}

/** Where the installed `@modelcontextprotocol/conformance` lives, and its version. */
export async function locateSuite(): Promise<{ root: string; bin: string; version: string }> {
  // The suite is a root devDependency: resolve it from the repository root.
  const fromRoot = createRequire(join(repositoryRoot(), 'package.json'))
  const manifestPath = fromRoot.resolve('@modelcontextprotocol/conformance/package.json')
  const root = dirname(manifestPath)
  const manifest: unknown = JSON.parse(await readFile(manifestPath, 'utf8'))
  if (!isRecord(manifest) || typeof manifest.version !== 'string') {
    throw new Error('Cannot read the conformance suite version')
  }
  return { root, bin: join(root, 'dist', 'index.js'), version: manifest.version }
}

/** Loads `requirements/<revision>.yaml` of the installed suite for `role`. */
export async function loadRequirementSet(
  suiteRoot: string,
  revision: string,
  role: Role,
): Promise<RequirementSet> {
  const text = await readFile(join(suiteRoot, 'requirements', `${revision}.yaml`), 'utf8')
  return parseRequirementSet(revision, text, role)
}

/** The monorepo root (this file is tools/conformance/src/requirements.ts). */
export function repositoryRoot(): string {
  return join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..')
}
