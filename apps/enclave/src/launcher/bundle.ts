import { mkdirSync, readFileSync, writeFileSync, chmodSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { sha384Base64url } from '@dauth/protocol'

/**
 * Builds the worker into ONE file with esbuild and measures it: the measurement is the
 * base64url SHA-384 of exactly the bytes the worker process runs (ARCHITECTURE.md §3).
 * The test build (hooks compiled in) therefore has a different measurement.
 */
export const WORKER_ENTRY = resolve(import.meta.dirname, '../worker/main.ts')
const PACKAGE_DIR = resolve(import.meta.dirname, '../..')

export interface WorkerBundle {
  file: string
  measurement: string
}

export async function buildWorkerBundle(
  outFile: string,
  options: { testHooks: boolean },
): Promise<WorkerBundle> {
  const esbuild = await import('esbuild')
  const result = await esbuild.build({
    entryPoints: [WORKER_ENTRY],
    absWorkingDir: PACKAGE_DIR,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node22',
    write: false,
    outfile: outFile,
    legalComments: 'none',
    logLevel: 'silent',
    define: { __DAUTH_TEST_HOOKS__: options.testHooks ? 'true' : 'false' },
  })
  // esbuild keeps a service process alive after a build; the launcher needs no more builds.
  await esbuild.stop()
  const output = result.outputFiles[0]
  if (!output) throw new Error('worker bundle produced no output')
  mkdirSync(dirname(outFile), { recursive: true, mode: 0o711 })
  writeFileSync(outFile, output.contents, { mode: 0o644 })
  chmodSync(outFile, 0o644)
  return { file: outFile, measurement: sha384Base64url(output.contents) }
}

/** Re-measures the file on disk (before every spawn: what runs is what was attested). */
export function measureFile(file: string): string {
  return sha384Base64url(readFileSync(file))
}
