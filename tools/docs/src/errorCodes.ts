/**
 * The error-code registry (docs/reference/errors.md) and the source must name the same codes,
 * component by component. This module reads both sides: the codes the source throws or
 * answers with, found by the few syntactic forms the code base uses for them, and the codes
 * the registry's tables list under each component's heading.
 */
import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { repoRoot } from './snippets.ts'

/** A component of the registry: its heading in errors.md and its source folder. */
export interface Component {
  readonly heading: string
  readonly src: string
}

export const COMPONENTS: readonly Component[] = [
  { heading: '`@dauth/protocol`', src: 'packages/protocol/src' },
  { heading: '`@dauth/mcp-server`', src: 'packages/mcp-server/src' },
  { heading: '`@dauth/sdk-client`', src: 'packages/sdk-client/src' },
  { heading: 'Authorization server', src: 'apps/as/src' },
  { heading: 'Enclave', src: 'apps/enclave/src' },
]

/** `ERR_*` strings in source that are Node's or a library's codes, tested for, never thrown. */
const FOREIGN_CODES = new Set(['ERR_SOCKET_CLOSED'])

/**
 * The forms that produce a code. Each regex's first group is the code.
 * - `'ERR_…'`: a local error class's code (thrown).
 * - `error: '…'`: a JSON error body or challenge built in place.
 * - `new HttpError('…'`, `new DispatchRefusal('…'`, `wireError('…'`: the AS's and the
 *   enclave's one error path each.
 * - `CustomOIDCProviderError('…'` and `super(503, '…'` in an `OIDCProviderError` subclass:
 *   oidc-provider errors the AS raises with its own code.
 */
const CODE_FORMS: readonly RegExp[] = [
  /'(ERR_[A-Z0-9_]+)'/g,
  /\berror: '([a-z_]+)'/g,
  /new HttpError\(\s*'([a-z_]+)'/g,
  /new DispatchRefusal\(\s*'([a-z_]+)'/g,
  /wireError\(\s*'([a-z_]+)'/g,
  /CustomOIDCProviderError\(\s*'([a-z_]+)'/g,
  /(?:OIDCProviderError|super)\(\s*\d{3},\s*'([a-z_]+)'/g,
]

/** `new errors.InvalidTarget(` raises oidc-provider's `invalid_target`. */
const OIDC_PROVIDER_CLASS =
  /new errors\.((?:Invalid|Unsupported|Unauthorized|Access|Login|Consent)\w*)\(/g

/** Tables that define a component's wire codes: `NAME = { code: …, … }`. */
const CODE_TABLES = ['HTTP_ERROR_STATUS', 'ENCLAVE_ERRORS']

const snake = (name: string): string => name.replace(/(?<!^)([A-Z])/g, '_$1').toLowerCase()

async function sourceFiles(dir: string): Promise<string[]> {
  const files: string[] = []
  for (const entry of await readdir(join(repoRoot, dir), { withFileTypes: true })) {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) files.push(...(await sourceFiles(path)))
    else if (/\.(ts|tsx|mts)$/.test(entry.name) && !entry.name.endsWith('.d.ts')) files.push(path)
  }
  return files
}

/** Strips `//` line comments and block comments, so that prose about a code is not a code. */
const stripComments = (text: string): string =>
  text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`\\])\/\/.*$/gm, '$1')

/** Codes one source text throws, answers or defines. */
export function codesInText(source: string): Set<string> {
  const text = stripComments(source)
  const codes = new Set<string>()
  for (const form of CODE_FORMS) {
    for (const match of text.matchAll(form)) codes.add(match[1] ?? '')
  }
  for (const match of text.matchAll(OIDC_PROVIDER_CLASS)) codes.add(snake(match[1] ?? ''))
  for (const table of CODE_TABLES) {
    const start = text.search(new RegExp(`\\b${table}\\b[^=]*=\\s*\\{`))
    if (start < 0) continue
    const body = text.slice(text.indexOf('{', start) + 1)
    let depth = 0
    for (const line of body.split('\n')) {
      const key = /^\s*([a-z_]+):/.exec(line)
      if (depth === 0 && key) codes.add(key[1] ?? '')
      depth += (line.match(/\{/g)?.length ?? 0) - (line.match(/\}/g)?.length ?? 0)
      if (depth < 0) break
    }
  }
  for (const code of FOREIGN_CODES) codes.delete(code)
  codes.delete('')
  return codes
}

/** Every code a component's source produces. */
export async function codesInSource(component: Component): Promise<Set<string>> {
  const codes = new Set<string>()
  for (const file of await sourceFiles(component.src)) {
    for (const code of codesInText(await readFile(join(repoRoot, file), 'utf8'))) codes.add(code)
  }
  return codes
}

/**
 * Codes the registry lists for a component: the first cell of each table row, when it is one
 * backticked code, between the component's `## ` heading and the next one.
 */
export function codesInRegistry(markdown: string, component: Component): Set<string> {
  const headings = [...markdown.matchAll(/^## (.+)$/gm)]
  const index = headings.findIndex((h) => (h[1] ?? '').startsWith(component.heading))
  if (index < 0) return new Set()
  const start = headings[index]?.index ?? 0
  const end = headings[index + 1]?.index ?? markdown.length
  const section = markdown.slice(start, end)
  return new Set([...section.matchAll(/^\|\s*`([A-Za-z0-9_]+)`\s*\|/gm)].map((m) => m[1] ?? ''))
}
