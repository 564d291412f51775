/**
 * The published form of a package, checked the way a consumer receives it: built with the
 * package's own `tsconfig.build.json`, packed by `pnpm pack` (which applies `publishConfig`
 * and turns `workspace:` ranges into versions), then linted as a tarball by publint and
 * arethetypeswrong. In the workspace the packages export `./src/*.ts`; only the tarball says
 * whether `dist/` and the exports map agree.
 */
import { execFile } from 'node:child_process'
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { publint } from 'publint'
import { formatMessage } from 'publint/utils'
import { repoRoot } from './snippets.ts'

const run = promisify(execFile)
const require = createRequire(import.meta.url)

/** The packages published to npm. */
export const PUBLISHED_PACKAGES = [
  'packages/protocol',
  'packages/mcp-server',
  'packages/sdk-client',
] as const

/** What a packed tarball looks like to its consumers. */
export interface PackReport {
  readonly tarball: string
  /** `package.json` as packed. */
  readonly manifest: {
    name: string
    exports?: unknown
    dependencies?: Record<string, string>
  }
  /** publint messages (errors, warnings and suggestions), formatted. */
  readonly publint: string[]
  /** arethetypeswrong problems under the ESM-only profile, as `kind entrypoint (resolution)`. */
  readonly attw: string[]
}

/** Builds `dir` (a workspace package) into its `dist/` and packs it into `destination`. */
export async function buildAndPack(dir: string, destination: string): Promise<string> {
  const cwd = join(repoRoot, dir)
  await run(
    process.execPath,
    [require.resolve('typescript/bin/tsc'), '-p', 'tsconfig.build.json'],
    {
      cwd,
    },
  )
  await run('pnpm', ['pack', '--pack-destination', destination], { cwd })
  const tarballs = (await readdir(destination)).filter((name) => name.endsWith('.tgz'))
  if (tarballs.length !== 1) throw new Error(`expected one tarball in ${destination}`)
  return join(destination, tarballs[0] ?? '')
}

interface AttwProblem {
  kind: string
  entrypoint?: string
  resolutionKind?: string
}

/** `attw --format json`: problems grouped by kind. */
interface AttwJson {
  analysis?: { types?: false | { kind: string } }
  problems?: Record<string, AttwProblem[]> | null
}

/** Lints one packed tarball with publint and arethetypeswrong. */
export async function lintTarball(tarball: string): Promise<Omit<PackReport, 'tarball'>> {
  const data = await readFile(tarball)
  const bytes = data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength)
  const result = await publint({
    pack: { tarball: bytes },
    level: 'suggestion',
    strict: true,
  })
  const manifest = result.pkg as PackReport['manifest']
  const publintMessages = result.messages.map(
    (message) => `${message.type} ${message.code}: ${formatMessage(message, result.pkg) ?? ''}`,
  )
  // The packages are ESM only: CommonJS `require` and node10 resolution are out of scope.
  const attwBin = join(repoRoot, 'tools/docs/node_modules/.bin/attw')
  const { stdout } = await run(
    attwBin,
    [tarball, '--profile', 'esm-only', '--format', 'json', '--no-color'],
    { maxBuffer: 64 * 1024 * 1024 },
  ).catch((error: { stdout?: string }) => ({ stdout: error.stdout ?? '{}' }))
  const attw = JSON.parse(stdout) as AttwJson
  const ignored = new Set(['node10', 'node16-cjs'])
  const problems = Object.values(attw.problems ?? {})
    .flat()
    .filter((problem) => !problem.resolutionKind || !ignored.has(problem.resolutionKind))
    .map((p) => `${p.kind} ${p.entrypoint ?? ''} (${p.resolutionKind ?? 'any'})`)
  // A package whose types resolve nowhere has no problems to list, only no types at all.
  if (attw.analysis?.types === false) problems.unshift('NoTypes . (any)')
  return { manifest, publint: publintMessages, attw: problems }
}

/** Builds, packs and lints one package in a temporary folder of its own. */
export async function checkPackedPackage(dir: string): Promise<PackReport> {
  const destination = await mkdtemp(join(tmpdir(), 'dauth-pack-'))
  try {
    const tarball = await buildAndPack(dir, destination)
    return { tarball, ...(await lintTarball(tarball)) }
  } finally {
    await rm(destination, { recursive: true, force: true })
  }
}
