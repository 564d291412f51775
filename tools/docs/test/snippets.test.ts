import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import {
  collectSnippets,
  extractSnippets,
  isCheckedTypeScript,
  typeCheckSnippets,
} from '../src/snippets.ts'

/**
 * Blocks in Markdown this package does not own that fail to compile today; each needs the
 * `fragment` marker (or its free names declared) in its own package. The test insists on this
 * exact list, so a fixed block must also leave it.
 */
const PENDING_FIXES_ELSEWHERE = new Set<string>([])

describe('extractSnippets', () => {
  it('reads fences with their language, meta words and opening line', () => {
    const markdown = [
      '# Title',
      '```ts',
      'const a: number = 1',
      '```',
      '',
      '  ```ts fragment',
      '  foo(bar)',
      '  ```',
      '~~~sh',
      'pnpm dev',
      '~~~',
    ].join('\n')
    assert.deepEqual(extractSnippets('x.md', markdown), [
      { file: 'x.md', line: 2, lang: 'ts', meta: [], code: 'const a: number = 1' },
      { file: 'x.md', line: 6, lang: 'ts', meta: ['fragment'], code: 'foo(bar)' },
      { file: 'x.md', line: 9, lang: 'sh', meta: [], code: 'pnpm dev' },
    ])
  })

  it('type-checking reports a wrong option at its Markdown line', () => {
    const [snippet] = extractSnippets(
      'docs/x.md',
      [
        'Intro',
        '```ts',
        "import { MCPServer } from '@dauth/mcp-server'",
        "new MCPServer('x', { resourceUrl: 'http://localhost/mcp', nope: true })",
        '```',
      ].join('\n'),
    )
    const problems = typeCheckSnippets([snippet!])
    assert.equal(problems.length, 1)
    assert.equal(problems[0]!.file, 'docs/x.md')
    assert.equal(problems[0]!.line, 4)
    assert.match(problems[0]!.message, /'nope' does not exist/)
  })
})

describe('documentation snippets', () => {
  it('every ```ts block not marked `fragment` type-checks against the workspace', async () => {
    const snippets = (await collectSnippets()).filter(isCheckedTypeScript)
    assert.ok(
      snippets.some((s) => s.file.startsWith('docs/guides/')),
      'guides have snippets',
    )
    const problems = typeCheckSnippets(snippets)
    const blockOf = (file: string, line: number) => {
      const block = snippets
        .filter((s) => s.file === file && s.line < line)
        .sort((a, b) => b.line - a.line)[0]
      return `${file}:${block?.line ?? line}`
    }
    const failing = new Set(problems.map((p) => blockOf(p.file, p.line)))
    const unexpected = problems.filter((p) => !PENDING_FIXES_ELSEWHERE.has(blockOf(p.file, p.line)))
    assert.deepEqual(
      unexpected.map((p) => `${p.file}:${p.line} ${p.message}`),
      [],
      'snippets that do not compile',
    )
    assert.deepEqual(
      [...PENDING_FIXES_ELSEWHERE].filter((block) => !failing.has(block)),
      [],
      'fixed blocks: remove them from PENDING_FIXES_ELSEWHERE',
    )
  })
})
