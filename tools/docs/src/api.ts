/**
 * API reference of the published packages, generated from their TSDoc by typedoc with the
 * Markdown plugin, so that it reads on GitHub next to the guides. `pnpm --filter @dauth/docs
 * api` writes docs/api/ (not committed: it is derived from the source); the test runs the same
 * conversion without output and with warnings as errors, so a broken `{@link}` or a missing
 * export of a referenced type fails CI.
 */
import { join } from 'node:path'
import { Application, type TypeDocOptions } from 'typedoc'
import type { PluginOptions } from 'typedoc-plugin-markdown'
import { repoRoot } from './snippets.ts'

/** The public entry points: each package's `src/index.ts`, plus the client's `./node` subpath. */
export const API_ENTRY_POINTS = [
  'packages/protocol/src/index.ts',
  'packages/mcp-server/src/index.ts',
  'packages/sdk-client/src/index.ts',
  'packages/sdk-client/src/node.ts',
] as const

export const API_OUT_DIR = join(repoRoot, 'docs/api')

/** Options shared by the generator and the test. */
export function apiOptions(emit: 'docs' | 'none'): TypeDocOptions & PluginOptions {
  return {
    entryPoints: API_ENTRY_POINTS.map((path) => join(repoRoot, path)),
    tsconfig: join(repoRoot, 'tools/docs/tsconfig.api.json'),
    plugin: ['typedoc-plugin-markdown'],
    out: API_OUT_DIR,
    emit,
    name: 'DAuth API reference',
    readme: 'none',
    treatWarningsAsErrors: true,
    excludePrivate: true,
    excludeInternal: true,
    // The tests' own helpers and fixtures are no public API.
    exclude: ['**/test/**'],
    // Types the MCP SDK owns (re-exported contexts link to them): its own reference.
    externalSymbolLinkMappings: {
      '@modelcontextprotocol/server': { '*': 'https://ts.sdk.modelcontextprotocol.io/v2/' },
    },
    validation: { notExported: true, invalidLink: true, rewrittenLink: true, notDocumented: false },
    logLevel: 'Warn',
    skipErrorChecking: false,
    disableSources: true,
    hidePageHeader: true,
    githubPages: false,
  }
}

/** Runs typedoc; resolves to the number of errors and warnings it reported. */
export async function convertApi(
  emit: 'docs' | 'none',
): Promise<{ errors: number; warnings: number }> {
  const app = await Application.bootstrapWithPlugins(apiOptions(emit))
  const project = await app.convert()
  if (project) {
    // Modules are named after their import specifier, not their folder ("protocol/src").
    for (const module of project.children ?? []) {
      module.name = `@dauth/${module.name.replace('/src', '')}`
    }
    app.validate(project)
    if (emit === 'docs') await app.generateOutputs(project)
  }
  return {
    errors: project ? app.logger.errorCount : app.logger.errorCount + 1,
    warnings: app.logger.warningCount,
  }
}

if (import.meta.main) {
  const { errors, warnings } = await convertApi('docs')
  if (errors + warnings > 0) process.exitCode = 1
  else process.stdout.write(`API reference written to ${API_OUT_DIR}\n`)
}
