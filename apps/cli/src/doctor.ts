/**
 * `dauth doctor`: checks a deployment's configuration, from the same environment the services
 * read, and says what is wrong in plain words with what to do about it. Offline checks first
 * (values, files, permissions), then the storage servers, then the running services.
 *
 * @module
 */
import { randomBytes } from 'node:crypto'
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { isIP } from 'node:net'
import { join, resolve } from 'node:path'
import { verifyAttestation } from '@dauth/protocol'
import { ConfigError, issuerProblem } from '@dauth/protocol/env'
import { parseResources } from '@dauth/as'
import { enclaveConfigFromEnv } from '@dauth/enclave'

/** One finding. `warn` does not fail the run; `fail` does. */
export interface Finding {
  readonly check: string
  readonly status: 'ok' | 'warn' | 'fail'
  readonly message: string
  /** What to do about it (for warn and fail). */
  readonly fix?: string
}

/** What the doctor reads: the services' environment (see docs/reference/wire.md). */
export interface DoctorInput {
  readonly env: Readonly<Record<string, string | undefined>>
  /** Skip the checks that contact servers (storage, AS, enclave, MCP server). */
  readonly offline?: boolean
  readonly fetch?: typeof fetch
  /** Per-request timeout of the online checks (default 3 s). */
  readonly timeoutMs?: number
}

const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]'])

function ok(check: string, message: string): Finding {
  return { check, status: 'ok', message }
}
function fail(check: string, message: string, fix: string): Finding {
  return { check, status: 'fail', message, fix }
}
function warn(check: string, message: string, fix: string): Finding {
  return { check, status: 'warn', message, fix }
}

/** The error's message without anything that could be a credential (URLs lose userinfo). */
function describe(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error)
  return text.replace(/\/\/[^/@\s]*@/g, '//***@').slice(0, 200)
}

function checkUrl(
  check: string,
  value: string | undefined,
  fallback: string,
  dev: boolean,
  what: string,
): { url: URL | undefined; finding: Finding } {
  const raw = value ?? fallback
  let url: URL
  try {
    url = new URL(raw)
  } catch {
    return {
      url: undefined,
      finding: fail(check, `${raw} is not a URL`, `Set it to the absolute URL of ${what}.`),
    }
  }
  if (url.protocol === 'https:') return { url, finding: ok(check, `${raw} (https)`) }
  if (url.protocol !== 'http:') {
    return { url, finding: fail(check, `${raw} is not http(s)`, `Use an https URL for ${what}.`) }
  }
  if (LOOPBACK.has(url.hostname) && dev) {
    return { url, finding: ok(check, `${raw} (plain http on loopback, dev only)`) }
  }
  if (LOOPBACK.has(url.hostname)) {
    return {
      url,
      finding: warn(
        check,
        `${raw} is plain http; it is accepted on loopback only, which is a dev set-up`,
        'Set DAUTH_DEV=1 for a local stack, or serve it over https.',
      ),
    }
  }
  return {
    url,
    finding: fail(
      check,
      `${raw} is plain http on a non-loopback host: tokens and credentials would cross the network in clear`,
      `Serve ${what} over https and use the https URL.`,
    ),
  }
}

/**
 * Files the enclave and AS keep secret: nobody but the owner may read them. Access for any
 * user fails; access for the file's group only warns, because that is how Kubernetes mounts
 * a secret for a non-root pod (`defaultMode: 0400` plus `fsGroup` becomes 0440, the group
 * being the pod's alone), while on a shared host the group may hold other people.
 */
function checkPrivateFiles(dir: string, check: string): Finding {
  let names: string[]
  try {
    names = readdirSync(dir, { recursive: true }) as string[]
  } catch {
    return ok(check, `${dir} does not exist yet (created on first start)`)
  }
  const world: string[] = []
  const group: string[] = []
  let files = 0
  for (const name of names) {
    try {
      const stat = statSync(join(dir, name))
      if (!stat.isFile()) continue
      files += 1
      if ((stat.mode & 0o007) !== 0) world.push(name)
      else if ((stat.mode & 0o070) !== 0) group.push(`${name} (gid ${stat.gid})`)
    } catch {
      // Gone since readdir: nothing to judge.
    }
  }
  const list = (files: string[]): string =>
    `${files.slice(0, 5).join(', ')}${files.length > 5 ? ' …' : ''}`
  if (world.length > 0) {
    return fail(
      check,
      `readable by other users: ${list(world)}`,
      `chmod 600 those files (and chmod 700 ${dir}).`,
    )
  }
  if (group.length > 0) {
    return warn(
      check,
      `readable by the file's group: ${list(group)}`,
      `Fine when that group is this service's alone (a Kubernetes fsGroup); otherwise chmod 600 those files.`,
    )
  }
  return ok(check, `${files} files, owner-only`)
}

function checkJsonFile(
  path: string,
  check: string,
  validate: (value: unknown) => string | undefined,
): Finding {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch {
    return fail(
      check,
      `${path} cannot be read`,
      'Create it (pnpm dev writes a dev one) or point the variable at it.',
    )
  }
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    return fail(check, `${path} is not valid JSON`, 'Fix the JSON syntax.')
  }
  const problem = validate(value)
  return problem === undefined
    ? ok(check, path)
    : fail(check, `${path}: ${problem}`, 'Fix that entry.')
}

/** The AS's own registry rules (parseResources), plus what a working deployment needs. */
function validateRegistry(value: unknown): string | undefined {
  let resources
  try {
    resources = parseResources(value)
  } catch (error) {
    return error instanceof Error ? error.message : 'not a resource registry'
  }
  if (resources.length === 0) return 'no "resources" list'
  const scopeless = resources.find((r) => r.scopes.length === 0)
  return scopeless === undefined ? undefined : `${scopeless.resource} has no "scopes" list`
}

const isLoopbackIp = (host: string): boolean =>
  host === '::1' || (isIP(host) === 4 && host.startsWith('127.'))

/**
 * `DAUTH_ENCLAVE_HOST`, when this environment sets it (it is the enclave's): the enclave's own
 * rules, then whether plain HTTP leaves the machine.
 */
function checkEnclaveListen(env: DoctorInput['env']): Finding | undefined {
  const host = env.DAUTH_ENCLAVE_HOST
  if (host === undefined || host === '') return undefined
  try {
    enclaveConfigFromEnv({
      DAUTH_ENCLAVE_HOST: host,
      ...(env.DAUTH_ENCLAVE_URL ? { DAUTH_ENCLAVE_URL: env.DAUTH_ENCLAVE_URL } : {}),
    })
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error
    return fail(
      'enclave_listen',
      error.problems.join('; '),
      'The enclave refuses to start with this: fix the variable.',
    )
  }
  if (isLoopbackIp(host)) return ok('enclave_listen', `${host} (loopback only)`)
  const url = env.DAUTH_ENCLAVE_URL ?? ''
  if (url.startsWith('https:'))
    return ok('enclave_listen', `${host}, behind TLS (DAUTH_ENCLAVE_URL is https)`)
  return warn(
    'enclave_listen',
    `the enclave listens on ${host} and serves plain HTTP: dispatch requests and upstream answers cross the network in clear`,
    'Let only the AS and the MCP servers reach it on a private network (compose: the internal network; Kubernetes: the NetworkPolicy), or terminate TLS in front of it and use an https DAUTH_ENCLAVE_URL.',
  )
}

/** Runs every check and returns the findings, in order. */
export async function runDoctor(input: DoctorInput): Promise<Finding[]> {
  const { env } = input
  const findings: Finding[] = []
  const dev = env.DAUTH_DEV === '1'
  const timeoutMs = input.timeoutMs ?? 3000
  const fetchImpl = input.fetch ?? fetch

  const major = Number(process.versions.node.split('.')[0])
  findings.push(
    major >= 22
      ? ok('node', `Node ${process.versions.node}`)
      : fail(
          'node',
          `Node ${process.versions.node} is too old`,
          'Use Node 24 LTS (22 is the minimum).',
        ),
  )
  if (dev) {
    findings.push(
      warn(
        'mode',
        'DAUTH_DEV=1: open registration, the seeded demo account and dev upstreams are on',
        'Unset DAUTH_DEV in production.',
      ),
    )
  }
  const issuer = checkUrl(
    'issuer',
    env.DAUTH_ISSUER,
    'http://localhost:4000',
    dev,
    'the authorization server',
  )
  findings.push(issuer.finding)
  // The services' own issuer rule (origin only, no trailing slash…), when the scheme check
  // above has not already failed it.
  const issuerRule = issuerProblem(env.DAUTH_ISSUER ?? 'http://localhost:4000')
  if (issuerRule !== undefined && issuer.finding.status !== 'fail') {
    findings.push(fail('issuer', `DAUTH_ISSUER ${issuerRule}`, 'Use scheme://host[:port] only.'))
  }
  const mcp = checkUrl(
    'mcp_url',
    env.DAUTH_MCP_URL,
    'http://localhost:4100/mcp',
    dev,
    'the MCP server',
  )
  findings.push(mcp.finding)
  const listen = checkEnclaveListen(env)
  if (listen) findings.push(listen)

  const stateDir = resolve(env.DAUTH_STATE_DIR ?? '.dauth')
  try {
    const stat = statSync(stateDir)
    findings.push(
      (stat.mode & 0o002) !== 0
        ? fail('state_dir', `${stateDir} is writable by every user`, `chmod o-w ${stateDir}`)
        : ok('state_dir', stateDir),
    )
  } catch {
    findings.push(
      warn(
        'state_dir',
        `${stateDir} does not exist`,
        'Start the stack once (pnpm dev) or set DAUTH_STATE_DIR.',
      ),
    )
  }
  findings.push(checkPrivateFiles(join(stateDir, 'enclave'), 'enclave_keys'))
  findings.push(
    checkJsonFile(
      env.DAUTH_AS_RESOURCES_FILE ?? join(stateDir, 'resources.json'),
      'resource_registry',
      validateRegistry,
    ),
  )
  if (env.DATABASE_URL && !env.REDIS_URL) {
    findings.push(
      warn(
        'redis',
        'DATABASE_URL is set but REDIS_URL is not: several instances would not share DPoP replay state and rate limits',
        'Set REDIS_URL when more than one AS or MCP server instance runs.',
      ),
    )
  }
  if (input.offline) return findings

  // Storage servers.
  if (env.DATABASE_URL) {
    try {
      const { default: pg } = await import('pg')
      const client = new pg.Client({
        connectionString: env.DATABASE_URL,
        connectionTimeoutMillis: timeoutMs,
      })
      try {
        await client.connect()
        await client.query('SELECT 1')
        findings.push(ok('postgres', 'reachable'))
      } finally {
        await client.end().catch(() => undefined)
      }
    } catch (error) {
      findings.push(
        fail(
          'postgres',
          `cannot connect: ${describe(error)}`,
          'Check DATABASE_URL and that PostgreSQL is up.',
        ),
      )
    }
  } else {
    findings.push(ok('storage', `embedded node:sqlite in ${stateDir}`))
  }
  if (env.REDIS_URL) {
    try {
      const { Redis } = await import('ioredis')
      const redis = new Redis(env.REDIS_URL, {
        lazyConnect: true,
        connectTimeout: timeoutMs,
        maxRetriesPerRequest: 0,
        retryStrategy: () => null,
      })
      redis.on('error', () => undefined)
      try {
        await redis.connect()
        findings.push(
          (await redis.ping()) === 'PONG'
            ? ok('redis', 'reachable')
            : fail('redis', 'no PONG', 'Check REDIS_URL.'),
        )
      } finally {
        redis.disconnect()
      }
    } catch (error) {
      findings.push(
        fail(
          'redis',
          `cannot connect: ${describe(error)}`,
          'Check REDIS_URL and that Redis is up.',
        ),
      )
    }
  }

  // The running services.
  if (issuer.url) {
    const origin = issuer.url.origin
    try {
      const response = await fetchImpl(`${origin}/.well-known/oauth-authorization-server`, {
        signal: AbortSignal.timeout(timeoutMs),
      })
      const metadata = (await response.json()) as Record<string, unknown>
      if (response.status !== 200 || metadata.issuer !== origin) {
        findings.push(
          fail(
            'as',
            `metadata at ${origin} does not name this issuer`,
            'DAUTH_ISSUER must equal the URL clients reach the AS at.',
          ),
        )
      } else {
        findings.push(
          ok(
            'as',
            `answers at ${origin}; DPoP algs ${String(metadata.dpop_signing_alg_values_supported)}`,
          ),
        )
      }
    } catch (error) {
      findings.push(
        fail(
          'as',
          `unreachable at ${origin}: ${describe(error)}`,
          'Start the AS (pnpm dev) or fix DAUTH_ISSUER.',
        ),
      )
    }
    findings.push(await checkAttestation(origin, stateDir, fetchImpl, timeoutMs))
  }
  if (mcp.url && issuer.url) {
    const prmUrl = `${mcp.url.origin}/.well-known/oauth-protected-resource${mcp.url.pathname === '/' ? '' : mcp.url.pathname}`
    try {
      const response = await fetchImpl(prmUrl, { signal: AbortSignal.timeout(timeoutMs) })
      const prm = (await response.json()) as { resource?: unknown; authorization_servers?: unknown }
      if (response.status !== 200 || prm.resource !== mcp.url.href) {
        findings.push(
          fail(
            'mcp',
            `${prmUrl} does not describe ${mcp.url.href}`,
            'DAUTH_MCP_URL must be the exact URL clients use.',
          ),
        )
      } else if (
        !Array.isArray(prm.authorization_servers) ||
        !prm.authorization_servers.includes(issuer.url.origin)
      ) {
        findings.push(
          fail(
            'mcp',
            `the MCP server does not name ${issuer.url.origin} as its authorization server`,
            'Give it the same DAUTH_ISSUER.',
          ),
        )
      } else {
        findings.push(ok('mcp', `protected resource metadata at ${prmUrl}`))
      }
    } catch (error) {
      findings.push(
        fail(
          'mcp',
          `unreachable at ${prmUrl}: ${describe(error)}`,
          'Start the MCP server or fix DAUTH_MCP_URL.',
        ),
      )
    }
  }
  return findings
}

/** The enclave's attestation, fetched through the AS proxy, verified against the pinned file. */
async function checkAttestation(
  origin: string,
  stateDir: string,
  fetchImpl: typeof fetch,
  timeoutMs: number,
): Promise<Finding> {
  let pinned: { platform_jwk: JsonWebKey; measurements: string[] }
  try {
    pinned = JSON.parse(readFileSync(join(stateDir, 'attestation.json'), 'utf8')) as typeof pinned
  } catch {
    return warn(
      'enclave',
      'no attestation.json to verify the enclave against',
      'Clients need the platform key and measurements pinned: publish them.',
    )
  }
  const nonce = randomBytes(24).toString('base64url')
  try {
    const response = await fetchImpl(`${origin}/enclave/attestation?nonce=${nonce}`, {
      signal: AbortSignal.timeout(timeoutMs),
    })
    const body = (await response.json()) as { attestation?: unknown }
    if (response.status !== 200 || typeof body.attestation !== 'string') {
      return fail(
        'enclave',
        `the AS could not fetch an attestation (HTTP ${response.status})`,
        'Start the enclave and check DAUTH_ENCLAVE_URL at the AS.',
      )
    }
    const { kid } = await verifyAttestation(body.attestation, {
      platformJwk: pinned.platform_jwk,
      measurements: pinned.measurements,
      nonce,
    })
    return ok('enclave', `attestation verifies against the pinned platform key (box key ${kid})`)
  } catch (error) {
    return fail(
      'enclave',
      `attestation does not verify: ${describe(error)}`,
      'The worker bundle or platform key changed: re-pin attestation.json.',
    )
  }
}

/** Renders findings for a person: one line each, the fix indented below. */
export function renderFindings(findings: readonly Finding[]): string {
  const mark = { ok: 'ok  ', warn: 'WARN', fail: 'FAIL' } as const
  const lines: string[] = []
  for (const f of findings) {
    lines.push(`${mark[f.status]} ${f.check}: ${f.message}`)
    if (f.fix !== undefined) lines.push(`     fix: ${f.fix}`)
  }
  const failed = findings.filter((f) => f.status === 'fail').length
  const warned = findings.filter((f) => f.status === 'warn').length
  lines.push(
    failed === 0 ? `all good (${warned} warnings)` : `${failed} problems, ${warned} warnings`,
  )
  return `${lines.join('\n')}\n`
}
