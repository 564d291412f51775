import assert from 'node:assert/strict'
import { access, readFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { describe, it } from 'node:test'
import { documentationFiles, repoRoot } from '../src/snippets.ts'

/** Relative Markdown links `[text](path)` outside code blocks and inline code. */
function relativeLinks(markdown: string): string[] {
  const prose = markdown
    .replace(/^(\s*)(`{3,}|~{3,})[\s\S]*?^\1\2\s*$/gm, '')
    .replace(/`[^`\n]*`/g, '')
  return [...prose.matchAll(/\]\(([^)\s]+)\)/g)]
    .map((m) => m[1] ?? '')
    .filter((target) => !/^[a-z]+:/i.test(target) && !target.startsWith('#'))
}

describe('documentation links', () => {
  it('every relative link of docs/ and the READMEs points at a file that exists', async () => {
    const broken: string[] = []
    let checked = 0
    for (const file of await documentationFiles()) {
      const markdown = await readFile(join(repoRoot, file), 'utf8')
      for (const target of relativeLinks(markdown)) {
        checked++
        const path = join(repoRoot, dirname(file), decodeURIComponent(target.split('#')[0] ?? ''))
        await access(path).catch(() => broken.push(`${file} → ${target}`))
      }
    }
    assert.deepEqual(broken, [])
    assert.ok(checked >= 20, `only ${checked} links found: is the extraction still working?`)
  })
})
