// docs/security.md is generated from the threat map (threatMap.ts): THREATS.md's rows, each
// with its defence and the tests that prove it. These functions parse THREATS.md, find the
// test names a test file declares, and render the document, so that a test can fail when the
// three drift apart.
import type { ThreatEntry } from './threatMap.ts'

/** One row of THREATS.md: its section, the attack (or fault) and the expected outcome. */
export interface ThreatRow {
  section: string
  attack: string
  expected: string
}

/**
 * The rows of THREATS.md: every table row under a `## ` heading, and a section written as a
 * paragraph (the canary tests) as one row whose attack is the paragraph and expected ''.
 */
export function parseThreats(markdown: string): ThreatRow[] {
  const rows: ThreatRow[] = []
  let section = ''
  let paragraph: string[] = []
  let sawTable = false
  const flush = () => {
    if (section !== '' && !sawTable && paragraph.length > 0) {
      rows.push({ section, attack: paragraph.join(' '), expected: '' })
    }
    paragraph = []
  }
  for (const raw of markdown.split('\n')) {
    const line = raw.trim()
    if (line.startsWith('## ')) {
      flush()
      section = line.slice(3).trim()
      sawTable = false
      continue
    }
    if (section === '') continue
    if (line.startsWith('|')) {
      sawTable = true
      const cells = splitRow(line)
      if (cells.length !== 2) throw new Error(`THREATS.md: expected two cells in "${line}"`)
      const [attack = '', expected = ''] = cells
      // The header row and the |---|---| separator are not threats.
      if (/^-+$/.test(attack) || attack === 'attack' || attack === 'fault') continue
      rows.push({ section, attack, expected })
    } else if (line !== '') {
      paragraph.push(line)
    }
  }
  flush()
  return rows
}

/** The cells of a markdown table row; `\|` inside a cell is a literal bar. */
export function splitRow(line: string): string[] {
  const inner = line.trim().replace(/^\|/, '').replace(/\|$/, '')
  return inner.split(/(?<!\\)\|/).map((cell) => cell.trim().replaceAll('\\|', '|'))
}

/**
 * The names of the `test(…)` and `it(…)` calls of a test file, exactly as written in the
 * source (a template literal keeps its `${…}` placeholders).
 */
export function declaredTestNames(source: string): string[] {
  const names: string[] = []
  const pattern = /\b(?:test|it)\(\s*(['"`])((?:\\.|(?!\1)[^\\])*)\1/g
  for (const match of source.matchAll(pattern)) {
    const quote = match[1]
    const name = match[2] ?? ''
    names.push(quote === '`' ? name : name.replaceAll(`\\${quote}`, quote ?? ''))
  }
  return names
}

const cell = (text: string) => text.replaceAll('|', '\\|').replaceAll('\n', ' ')

/** docs/security.md for the given threat map. */
export function renderSecurityDoc(entries: readonly ThreatEntry[]): string {
  const lines = [
    '# Security: each threat, its defence and the test that proves it',
    '',
    '<!-- Generated from tests/security/src/threatMap.ts by',
    '     `pnpm --filter @dauth/security-tests docs:security`; do not edit by hand.',
    '     tests/security/test/threats.test.ts fails when this file, the map, THREATS.md or a',
    '     named test drift apart. -->',
    '',
    'The rows are the threat model of the design (THREATS.md), verbatim. "Rejected" means: the',
    'documented status and error code, nothing reaches the tool or the upstream, and nothing',
    'secret in the answer or the logs. Each test is named by its file and its exact name',
    '(`${…}` marks a name built per case: the test runs once per case listed in the file).',
    'The suite in `tests/security` drives the real processes over real HTTP: the canary scan,',
    'faults, scale-out (two AS, two MCP servers, two enclaves on PostgreSQL and Redis), fuzzing',
    'and the soak (`DAUTH_SOAK_SECONDS`, 60 s in CI; `DAUTH_SOAK_SECONDS=600` on demand; `0`',
    'skips it; figures in `tests/security/results/soak.md`).',
  ]
  let section = ''
  for (const entry of entries) {
    if (entry.section !== section) {
      section = entry.section
      lines.push('', `## ${section}`, '')
      lines.push('| attack | expected | defence | tests |', '|---|---|---|---|')
    }
    const tests = entry.tests.map((ref) => `\`${ref.file}\`: ${ref.name}`).join('<br>')
    lines.push(
      `| ${cell(entry.attack)} | ${cell(entry.expected || '(stated in the attack)')} | ${cell(entry.defence)} | ${cell(tests)} |`,
    )
  }
  lines.push('')
  return lines.join('\n')
}

/**
 * Problems with the map's test references: an entry without tests, a file that does not
 * exist, a name no `test(…)`/`it(…)` of the file declares. `readSource` returns a file's
 * text (relative to the repository root) or undefined when it does not exist.
 */
export function checkTestRefs(
  entries: readonly ThreatEntry[],
  readSource: (file: string) => string | undefined,
): string[] {
  const problems: string[] = []
  const names = new Map<string, string[] | undefined>()
  for (const entry of entries) {
    if (entry.tests.length === 0) problems.push(`"${entry.attack}": no test`)
    if (entry.defence.trim() === '') problems.push(`"${entry.attack}": no defence`)
    for (const { file, name } of entry.tests) {
      if (!/\.test\.ts$/.test(file)) problems.push(`${file}: not a test file`)
      if (!names.has(file)) {
        const source = readSource(file)
        names.set(file, source === undefined ? undefined : declaredTestNames(source))
      }
      const declared = names.get(file)
      if (declared === undefined) problems.push(`${file}: no such file`)
      else if (!declared.includes(name)) problems.push(`${file}: no test named "${name}"`)
    }
  }
  return problems
}
