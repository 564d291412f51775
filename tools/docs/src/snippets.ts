/**
 * Every ```ts block of the documentation is a program that must type-check against the
 * workspace packages, so that a renamed option or a changed signature breaks the docs' test
 * instead of a reader's first attempt. A block whose info string carries the word `fragment`
 * (```ts fragment) is an excerpt that cannot stand alone; it is skipped, and the marker is
 * visible to anyone editing the Markdown.
 */
import { readdir, readFile } from 'node:fs/promises'
import { join, relative } from 'node:path'
import ts from 'typescript'

/** One fenced code block of a Markdown file. */
export interface Snippet {
  /** Path relative to the repository root. */
  readonly file: string
  /** 1-based line of the opening fence. */
  readonly line: number
  /** First word of the info string (`ts`, `sh`, …). */
  readonly lang: string
  /** Remaining words of the info string (`fragment`). */
  readonly meta: readonly string[]
  readonly code: string
}

/** A compiler diagnostic located in the Markdown file, not in the extracted block. */
export interface SnippetProblem {
  readonly file: string
  readonly line: number
  readonly message: string
}

export const repoRoot = join(import.meta.dirname, '../../..')

const FENCE = /^(\s*)(`{3,}|~{3,})\s*([\w-]*)\s*(.*)$/

/** Extracts the fenced code blocks of one Markdown text (CommonMark fences, not indented code). */
export function extractSnippets(file: string, markdown: string): Snippet[] {
  const lines = markdown.split('\n')
  const snippets: Snippet[] = []
  for (let i = 0; i < lines.length; i++) {
    const open = FENCE.exec(lines[i] ?? '')
    if (!open) continue
    const [, indent = '', fence = '', lang = '', rest = ''] = open
    const body: string[] = []
    let j = i + 1
    for (; j < lines.length; j++) {
      const line = lines[j] ?? ''
      if (line.trim().startsWith(fence) && line.trim().replaceAll(fence[0] ?? '`', '') === '') break
      body.push(line.startsWith(indent) ? line.slice(indent.length) : line.trimStart())
    }
    snippets.push({
      file,
      line: i + 1,
      lang: lang.toLowerCase(),
      meta: rest.split(/\s+/).filter(Boolean),
      code: body.join('\n'),
    })
    i = j
  }
  return snippets
}

const TS_LANGS = new Set(['ts', 'typescript', 'mts'])

/** True for a block the checker compiles: TypeScript, not marked `fragment`. */
export const isCheckedTypeScript = (snippet: Snippet): boolean =>
  TS_LANGS.has(snippet.lang) && !snippet.meta.includes('fragment')

/** The Markdown files whose snippets are checked: docs/ and every workspace README. */
export async function documentationFiles(): Promise<string[]> {
  const files = ['README.md']
  const walk = async (dir: string): Promise<void> => {
    for (const entry of await readdir(join(repoRoot, dir), { withFileTypes: true })) {
      const path = join(dir, entry.name)
      if (entry.isDirectory() && entry.name !== 'api') await walk(path)
      else if (entry.isFile() && entry.name.endsWith('.md')) files.push(path)
    }
  }
  await walk('docs')
  for (const group of ['packages', 'apps', 'tools', 'tests', 'infra']) {
    const entries = await readdir(join(repoRoot, group), { withFileTypes: true }).catch(() => [])
    for (const entry of entries) {
      const readme = join(group, entry.name, 'README.md')
      if (entry.isDirectory() && (await readFile(join(repoRoot, readme)).catch(() => null)))
        files.push(readme)
    }
    if (group === 'infra' && (await readFile(join(repoRoot, 'infra/README.md')).catch(() => null)))
      files.push('infra/README.md')
  }
  return files.sort()
}

/** Every snippet of the documentation files. */
export async function collectSnippets(): Promise<Snippet[]> {
  const all: Snippet[] = []
  for (const file of await documentationFiles()) {
    all.push(...extractSnippets(file, await readFile(join(repoRoot, file), 'utf8')))
  }
  return all
}

/**
 * Type-checks the snippets as ES modules placed in tools/docs (so that `@dauth/*`, `zod` and
 * `@modelcontextprotocol/sdk` resolve through its node_modules) with the repository's base
 * compiler options. The files exist only in memory. Each block is its own module, so top-level
 * `await` and repeated names are fine.
 */
export function typeCheckSnippets(snippets: readonly Snippet[]): SnippetProblem[] {
  const configPath = join(repoRoot, 'tsconfig.base.json')
  const config = ts.readConfigFile(configPath, (path) => ts.sys.readFile(path))
  const { options } = ts.parseJsonConfigFileContent(config.config, ts.sys, repoRoot)
  options.noEmit = true
  options.noUnusedLocals = false
  const virtualDir = join(repoRoot, 'tools/docs/.snippets')
  const byPath = new Map<string, Snippet>()
  snippets.forEach((snippet, index) => {
    const name = `${snippet.file.replace(/[^\w]+/g, '_')}_L${snippet.line}_${index}.ts`
    // `export {}` makes each block a module even when it imports nothing.
    byPath.set(join(virtualDir, name), { ...snippet, code: `${snippet.code}\nexport {}\n` })
  })
  const base = ts.createCompilerHost(options)
  const host: ts.CompilerHost = {
    ...base,
    fileExists: (path) => byPath.has(path) || base.fileExists(path),
    readFile: (path) => byPath.get(path)?.code ?? base.readFile(path),
    getSourceFile: (path, language, onError, shouldCreate) => {
      const snippet = byPath.get(path)
      return snippet
        ? ts.createSourceFile(path, snippet.code, language, true)
        : base.getSourceFile(path, language, onError, shouldCreate)
    },
  }
  const program = ts.createProgram([...byPath.keys()], options, host)
  const problems: SnippetProblem[] = []
  for (const diagnostic of ts.getPreEmitDiagnostics(program)) {
    const snippet = diagnostic.file ? byPath.get(diagnostic.file.fileName) : undefined
    const message = ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n')
    if (!snippet || !diagnostic.file || diagnostic.start === undefined) {
      problems.push({ file: relative(repoRoot, diagnostic.file?.fileName ?? ''), line: 0, message })
      continue
    }
    const { line } = diagnostic.file.getLineAndCharacterOfPosition(diagnostic.start)
    problems.push({ file: snippet.file, line: snippet.line + 1 + line, message })
  }
  return problems
}
