/**
 * `docs/reference/config.md`, generated from the services' environment schemas
 * (`@dauth/protocol/env`). `pnpm --filter @dauth/docs config-reference` rewrites it; `test/config.test.ts`
 * fails when it is out of date.
 *
 * @module
 */
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { asEnvSchema } from '@dauth/as'
import { demoUpstreamEnvSchema } from '@dauth/demo-upstream'
import { enclaveEnvSchema } from '@dauth/enclave'
import { exampleMcpEnvSchema } from '@dauth/example-mcp'
import { describeEnv, EX_CONFIG, type EnvSchema, type EnvVarRow } from '@dauth/protocol/env'
import { repoRoot } from './snippets.ts'

export const CONFIG_REFERENCE = join(repoRoot, 'docs/reference/config.md')

/** Every service's schema, in the order of the table. */
export const SERVICE_SCHEMAS: ReadonlyArray<readonly [service: string, schema: EnvSchema]> = [
  ['as', asEnvSchema],
  ['enclave', enclaveEnvSchema],
  ['example-mcp', exampleMcpEnvSchema],
  ['demo-upstream', demoUpstreamEnvSchema],
]

const SECRECY_NOTE = {
  public: '',
  'url-userinfo': '; errors show it with userinfo and query masked',
  secret: '; never shown in errors',
} as const

function cell(text: string): string {
  return text.replaceAll('|', '\\|')
}

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)))
  const line = (cells: string[]): string =>
    `| ${cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join(' | ')} |`
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n')
}

/** The Markdown page: one row per variable, services merged where the row is the same. */
export function renderConfigReference(): string {
  const merged: Array<{ services: string[]; row: EnvVarRow }> = []
  for (const [service, schema] of SERVICE_SCHEMAS) {
    for (const row of describeEnv(schema)) {
      const same = merged.find(
        (m) =>
          m.row.name === row.name &&
          m.row.type === row.type &&
          m.row.default === row.default &&
          m.row.description === row.description &&
          m.row.secrecy === row.secrecy,
      )
      if (same) same.services.push(service)
      else merged.push({ services: [service], row })
    }
  }
  const order = [...new Set(merged.map((m) => m.row.name))]
  merged.sort((a, b) => order.indexOf(a.row.name) - order.indexOf(b.row.name))
  const rows = merged.map(({ services, row }) => [
    `\`${row.name}\``,
    services.join(', '),
    cell(row.type),
    cell(row.default),
    cell(`${row.description}${SECRECY_NOTE[row.secrecy]}`),
  ])
  return `# Configuration reference

<!-- Generated from the services' env schemas by \`pnpm --filter @dauth/docs config-reference\`; do not edit. -->

Every service reads its configuration from environment variables and checks all of them when
it starts (schemas: \`apps/as/src/envSchema.ts\`, \`apps/enclave/src/envSchema.ts\`,
\`apps/example-mcp/src/env.ts\`, \`apps/demo-upstream/src/env.ts\`, built with
\`@dauth/protocol/env\`). An empty variable counts as unset. A bad value stops the process
before it listens: one line per problem on stderr, such as

\`\`\`text
DAUTH_AS_PORT: must be a port number (0-65535, 0 = a free port), got "abc"
\`\`\`

and exit status ${EX_CONFIG} (\`EX_CONFIG\`). Secrets are never echoed: URLs are shown with their
userinfo and query masked, tokens not at all. Flags accept only \`1\` (on) and \`0\` (off).
The wire contract's [environment section](wire.md#environment-and-state-folder) lists the same
names.

${table(['variable', 'service', 'type / allowed values', 'default', 'description'], rows)}
`
}

if (import.meta.main) {
  await writeFile(CONFIG_REFERENCE, renderConfigReference())
  console.log(`wrote ${CONFIG_REFERENCE}`)
}
