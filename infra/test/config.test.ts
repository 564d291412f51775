// The environment that infra/compose.yaml and infra/k8s give each service is read by the
// service's own start-up reader (the one its `main.ts` calls), so a variable that a service
// would refuse, an enclave that listens where nobody can reach it, or a dispatch audience that
// differs between the AS, the MCP server and the enclave fails here instead of at deploy time.
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { readdir, readFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { after, describe, test } from 'node:test'
import { parse, parseAllDocuments } from 'yaml'
import { configFromEnv } from '@dauth/as'
import { enclaveConfigFromEnv, enclaveEnvSchema } from '@dauth/enclave'
import { exampleMcpConfigFromEnv, exampleMcpEnvSchema } from '@dauth/example-mcp'
import { describeEnv } from '@dauth/protocol/env'

const INFRA = resolve(import.meta.dirname, '..')
const REPO = resolve(INFRA, '..')
// Stand-ins for what operators keep in secrets (the env_file, Kubernetes Secrets).
const SECRET_VALUES: Record<string, string> = {
  DATABASE_URL: 'postgres://dauth:pw@postgres:5432/dauth',
  REDIS_URL: 'redis://redis:6379',
}

/** `ENV` lines of the image: what every container starts with. */
function imageEnv(): Record<string, string> {
  const dockerfile = readFileSync(join(INFRA, 'docker', 'Dockerfile'), 'utf8')
  const env: Record<string, string> = {}
  for (const line of dockerfile.split('\n')) {
    if (!line.startsWith('ENV ')) continue
    for (const pair of line.slice(4).trim().split(/\s+/)) {
      const [name, value] = pair.split('=')
      if (name && value !== undefined) env[name] = value
    }
  }
  return env
}

const scratch = mkdtempSync(join(tmpdir(), 'dauth-infra-'))
after(() => rmSync(scratch, { recursive: true, force: true }))

/** Variables that must name an existing file: checked to lie under a mount, then stood in for. */
const MUST_EXIST = new Set(['DAUTH_ENCLAVE_CLIENT_KEY_FILE', 'DAUTH_ENCLAVE_EXTRA_CA'])
function withStandInFiles(
  env: Record<string, string>,
  mounts: readonly string[],
): Record<string, string> {
  const out = { ...env }
  for (const name of MUST_EXIST) {
    const path = env[name]
    if (path === undefined) continue
    assert.ok(
      mounts.some((m) => path.startsWith(`${m}/`)),
      `${name}=${path} is under no volume mount`,
    )
    const standIn = join(scratch, name)
    writeFileSync(standIn, '{}')
    out[name] = standIn
  }
  return out
}

/** The enclave's listen address and the URL the others must use (`aud` of dispatch tokens). */
function checkEnclave(env: Record<string, string>): { enclaveUrl: string; port: number } {
  const config = enclaveConfigFromEnv(env, REPO)
  assert.equal(config.host, '0.0.0.0', 'the enclave must listen beyond loopback in a container')
  assert.ok(config.enclaveUrl, 'DAUTH_ENCLAVE_URL')
  const url = new URL(config.enclaveUrl)
  assert.equal(Number(url.port), config.port, 'DAUTH_ENCLAVE_URL names the port it listens on')
  return { enclaveUrl: config.enclaveUrl, port: config.port ?? 0 }
}

describe('compose.yaml', () => {
  const compose = parse(readFileSync(join(INFRA, 'compose.yaml'), 'utf8'), { merge: true })
  const services = compose.services as Record<string, any>
  const envOf = (name: string): Record<string, string> => ({
    ...imageEnv(),
    ...(services[name].env_file ? { DATABASE_URL: SECRET_VALUES.DATABASE_URL! } : {}),
    ...services[name].environment,
  })

  test("each service's environment passes the service's own start-up reader", () => {
    const as = configFromEnv(envOf('as'))
    const mcp = exampleMcpConfigFromEnv(envOf('example-mcp'), REPO)
    const enclave = checkEnclave(envOf('enclave'))
    assert.equal(new URL(enclave.enclaveUrl).hostname, 'enclave', 'the compose service name')
    // One audience for dispatch tokens: the AS issues it, the MCP server asks for it.
    assert.deepEqual([as.enclaveUrl, mcp.enclaveUrl], [enclave.enclaveUrl, enclave.enclaveUrl])
    assert.equal(mcp.issuer, as.issuer)
    assert.equal(as.databaseUrl, SECRET_VALUES.DATABASE_URL)
    // The healthchecks ask the port each service listens on.
    const probe = (name: string): string => services[name].healthcheck.test.at(-1) as string
    assert.match(probe('as'), new RegExp(`127\\.0\\.0\\.1:${as.port ?? 4000}/healthz`))
    assert.match(probe('enclave'), new RegExp(`127\\.0\\.0\\.1:${enclave.port}/healthz`))
    assert.match(probe('example-mcp'), new RegExp(`127\\.0\\.0\\.1:${mcp.port}/`))
  })

  test('plain-HTTP ports are published on the host loopback only; the enclave on none', () => {
    for (const [name, service] of Object.entries(services))
      for (const port of (service.ports ?? []) as string[])
        assert.match(port, /^127\.0\.0\.1:/, `${name}: ${port}`)
    assert.equal(services.enclave.ports, undefined)
  })

  test('every reference is true: services, scripts, files, the init command', () => {
    for (const [name, service] of Object.entries(services)) {
      for (const dependency of Object.keys(service.depends_on ?? {}))
        assert.ok(services[dependency], `${name} depends on a missing ${dependency}`)
      const script = (service.command as string[] | undefined)?.[1]
      if (service.command?.[0] === 'node') assert.ok(existsSync(join(REPO, script!)), script)
    }
    const text = readFileSync(join(INFRA, 'compose.yaml'), 'utf8')
    const docs = [...text.matchAll(/\bdocs\/[\w/.-]+\.md\b/g)].map((m) => m[0])
    assert.ok(docs.length > 0)
    for (const doc of docs) assert.ok(existsSync(join(REPO, doc)), doc)
    assert.match(text, /docker compose run --rm init/)
    assert.deepEqual(services.init.command, ['node', 'apps/cli/src/main.ts', 'init'])
    assert.deepEqual(services.init.profiles, ['init'])
    // The command exists in the CLI the image carries (`--help` exits 0).
    const help = execFileSync(
      process.execPath,
      [join(REPO, 'apps/cli/src/main.ts'), 'init', '--help'],
      {
        encoding: 'utf8',
        env: { PATH: process.env.PATH ?? '' },
      },
    )
    assert.match(help, /^Usage: dauth init/)
  })
})

describe('k8s', () => {
  async function manifests(): Promise<any[]> {
    const out: any[] = []
    for (const file of (await readdir(join(INFRA, 'k8s'))).filter((f) => f.endsWith('.yaml')))
      for (const document of parseAllDocuments(await readFile(join(INFRA, 'k8s', file), 'utf8')))
        out.push(document.toJS())
    return out
  }

  test("each Deployment's environment passes the service's own start-up reader", async () => {
    const all = await manifests()
    const configMaps = new Map<string, Record<string, string>>(
      all.filter((d) => d.kind === 'ConfigMap').map((d) => [d.metadata.name, d.data]),
    )
    const deployments = new Map<string, any>(
      all.filter((d) => d.kind === 'Deployment').map((d) => [d.metadata.name, d]),
    )
    const envOf = (name: string): { env: Record<string, string>; mounts: string[] } => {
      const container = deployments.get(name).spec.template.spec.containers[0]
      const env: Record<string, string> = { ...imageEnv() }
      for (const source of container.envFrom ?? []) {
        if (source.configMapRef) Object.assign(env, configMaps.get(source.configMapRef.name))
        // A Secret's keys: the ones the services read from it.
        if (source.secretRef)
          for (const key of ['DATABASE_URL', 'REDIS_URL']) env[key] = SECRET_VALUES[key]!
      }
      for (const variable of container.env ?? []) {
        const value = variable.valueFrom ? SECRET_VALUES[variable.name] : variable.value
        assert.ok(value !== undefined, `${name}: ${variable.name}`)
        env[variable.name] = value
      }
      const mounts = (container.volumeMounts as { mountPath: string }[]).map((m) => m.mountPath)
      return { env, mounts }
    }

    const enclavePod = envOf('dauth-enclave')
    const enclave = checkEnclave(withStandInFiles(enclavePod.env, enclavePod.mounts))
    const service = all.find((d) => d.kind === 'Service' && d.metadata.name === 'dauth-enclave')
    const url = new URL(enclave.enclaveUrl)
    assert.equal(url.hostname.split('.')[0], service.metadata.name)
    assert.equal(Number(url.port), service.spec.ports[0].port)
    // The keys every replica must share are where the launcher reads them.
    assert.ok(enclavePod.mounts.includes('/var/lib/dauth/enclave'))

    const asPod = envOf('dauth-as')
    const as = configFromEnv(asPod.env)
    const mcpPod = envOf('dauth-example-mcp')
    const mcp = exampleMcpConfigFromEnv(mcpPod.env, REPO)
    assert.deepEqual([as.enclaveUrl, mcp.enclaveUrl], [enclave.enclaveUrl, enclave.enclaveUrl])
    // Files the AS and the MCP server read come from mounted Secrets.
    for (const [pod, path] of [
      [asPod, as.clientsFile],
      [asPod, as.resourcesFile],
      [mcpPod, mcp.clientFile],
    ] as const)
      assert.ok(
        pod.mounts.some((m) => path?.startsWith(`${m}/`)),
        `${path} is under no volume mount`,
      )
  })

  test('pods that read 0400 Secret files run with an fsGroup (else a non-root user cannot)', async () => {
    for (const doc of await manifests()) {
      if (doc.kind !== 'Deployment') continue
      const pod = doc.spec.template.spec
      const strict = (pod.volumes as any[]).some(
        (v) => v.secret && (v.secret.defaultMode & 0o044) === 0,
      )
      if (strict) assert.equal(typeof pod.securityContext.fsGroup, 'number', doc.metadata.name)
    }
  })
})

test('the reference table documents DAUTH_ENCLAVE_HOST, and the example server has no host variable', () => {
  assert.ok(describeEnv(enclaveEnvSchema).some((row) => row.name === 'DAUTH_ENCLAVE_HOST'))
  // The example MCP server listens on every interface unless DAUTH_MCP_URL is a loopback
  // URL, so a container needs no variable for it (the AS likewise for a non-loopback issuer).
  assert.ok(!describeEnv(exampleMcpEnvSchema).some((row) => row.name.endsWith('_HOST')))
})
