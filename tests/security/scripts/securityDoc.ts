// Regenerates docs/security.md from the threat map (src/threatMap.ts):
//   pnpm --filter @dauth/security-tests docs:security          writes it
//   pnpm --filter @dauth/security-tests docs:security --check  exits 1 when it is stale
// test/threats.test.ts runs the same comparison, plus the checks against THREATS.md and
// the named tests.
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { renderSecurityDoc } from '../src/securityDoc.ts'
import { THREAT_MAP } from '../src/threatMap.ts'

const target = join(import.meta.dirname, '..', '..', '..', 'docs', 'security.md')
const wanted = renderSecurityDoc(THREAT_MAP)
if (process.argv.includes('--check')) {
  const current = await readFile(target, 'utf8').catch(() => '')
  if (current !== wanted) {
    console.error(`${target} is stale: run pnpm --filter @dauth/security-tests docs:security`)
    process.exit(1)
  }
  console.log(`${target} is up to date`)
} else {
  await writeFile(target, wanted)
  console.log(`wrote ${target} (${THREAT_MAP.length} threats)`)
}
