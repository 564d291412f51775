// Starts the four processes of the stack (AS, enclave, example MCP server, demo upstream) as
// real OS processes, waits until each answers its readiness URL, and stops them all. Used by
// `pnpm dev` (fixed ports, `.dauth/`) and by the end-to-end tests (free ports, a temp folder).
import { type ChildProcess, spawn } from 'node:child_process'
import { createServer } from 'node:net'
import { readFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { type DevStatePaths, ensureDevState, type RegistryResource } from './devState.ts'
import { stopProcess } from './process.ts'

export const REPO_ROOT = resolve(import.meta.dirname, '../../..')

/** Options of {@link startStack}. Ports of 0 pick free ones. */
export interface StackOptions {
  stateDir: string
  ports?: Partial<Record<ServiceName, number>>
  /** Extra environment for every process (e.g. DATABASE_URL, REDIS_URL). */
  env?: Record<string, string>
  /** Called with every output line of every process. */
  onLine?: (service: ServiceName, stream: 'stdout' | 'stderr', line: string) => void
  /** How long to wait for each service's readiness URL (default 30 s). */
  readyTimeoutMs?: number
  /**
   * Ports the processes listen on when they differ from the public ones in `ports` (a proxy
   * in front of them owns the public port). The URLs (issuer, MCP URL) keep the public port.
   */
  listenPorts?: Partial<Record<ServiceName, number>>
  /** More resources for the AS registry (servers a test runs itself, protected by this AS). */
  extraResources?: readonly RegistryResource[]
}

export type ServiceName = 'upstream' | 'as' | 'enclave' | 'mcp'

/** A running stack. */
export interface Stack {
  issuer: string
  mcpUrl: string
  enclaveUrl: string
  upstreamUrl: string
  paths: DevStatePaths
  /** Every line each process printed so far (for canary scans and debugging). */
  output: Record<ServiceName, string[]>
  processes: Record<ServiceName, ChildProcess>
  /** Port each primary process listens on (the public port unless `listenPorts` was given). */
  listenPorts: Record<ServiceName, number>
  /** The environment every process was started with (credential-free parent env + stack env). */
  env: Record<string, string>
  /**
   * Stops a service's primary process (SIGTERM, then SIGKILL after 5 s) and starts it again
   * with the same environment and port; resolves once it is ready. `output[service]` keeps
   * growing across restarts and `processes[service]` is the new process.
   */
  restart(service: ServiceName): Promise<void>
  /** Stops a service's primary process (e.g. to make the AS unreachable). */
  stopService(service: ServiceName): Promise<void>
  /** Starts a stopped service's primary process again on its port; resolves once ready. */
  startService(service: ServiceName): Promise<void>
  /**
   * Starts one more process of a service with the same environment on another port
   * (`port` 0 or omitted: a free one); resolves once it is ready.
   */
  startInstance(service: ServiceName, options?: { port?: number }): Promise<ServiceInstance>
  stop(): Promise<void>
}

/** An extra process of a service started by {@link Stack.startInstance}. */
export interface ServiceInstance {
  service: ServiceName
  port: number
  process: ChildProcess
  /** Every line it printed. */
  output: string[]
  stop(): Promise<void>
}

const APP_DIRS: Record<ServiceName, string> = {
  upstream: 'demo-upstream',
  as: 'as',
  enclave: 'enclave',
  mcp: 'example-mcp',
}
const PORT_ENV: Record<ServiceName, string> = {
  upstream: 'DAUTH_UPSTREAM_PORT',
  as: 'DAUTH_AS_PORT',
  enclave: 'DAUTH_ENCLAVE_PORT',
  mcp: 'DAUTH_MCP_PORT',
}

/** Finds a free loopback TCP port. */
export async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      server.close(() => resolvePort(typeof address === 'object' && address ? address.port : 0))
    })
  })
}

/**
 * Starts the whole stack and resolves once every service is ready.
 *
 * @example
 * const stack = await startStack({ stateDir: await mkdtemp(join(tmpdir(), 'dauth-')) })
 * try { … } finally { await stack.stop() }
 */
export async function startStack(options: StackOptions): Promise<Stack> {
  const port = async (name: ServiceName, fallback: number) => {
    const wanted = options.ports?.[name] ?? fallback
    return wanted === 0 ? freePort() : wanted
  }
  const ports = {
    as: await port('as', 0),
    mcp: await port('mcp', 0),
    enclave: await port('enclave', 0),
    upstream: await port('upstream', 0),
  }
  const issuer = `http://localhost:${ports.as}`
  const mcpUrl = `http://localhost:${ports.mcp}/mcp`
  const enclaveUrl = `http://127.0.0.1:${ports.enclave}`
  const upstreamUrl = `https://localhost:${ports.upstream}`
  const listenPorts: Record<ServiceName, number> = { ...ports }
  for (const name of Object.keys(ports) as ServiceName[]) {
    const wanted = options.listenPorts?.[name]
    if (wanted !== undefined) listenPorts[name] = wanted === 0 ? await freePort() : wanted
  }
  const stateDir = resolve(options.stateDir)
  const paths = await ensureDevState({
    stateDir,
    issuer,
    mcpUrl,
    enclaveUrl,
    ...(options.extraResources ? { extraResources: options.extraResources } : {}),
  })

  const env: Record<string, string> = {
    ...filteredParentEnv(),
    DAUTH_STATE_DIR: stateDir,
    DAUTH_ISSUER: issuer,
    DAUTH_AS_PORT: String(listenPorts.as),
    DAUTH_MCP_URL: mcpUrl,
    DAUTH_MCP_PORT: String(listenPorts.mcp),
    DAUTH_ENCLAVE_URL: enclaveUrl,
    DAUTH_ENCLAVE_PORT: String(listenPorts.enclave),
    DAUTH_UPSTREAM_PORT: String(listenPorts.upstream),
    DAUTH_DEV: '1',
    DAUTH_ENCLAVE_DEV_UPSTREAMS: '1',
    DAUTH_ENCLAVE_EXTRA_CA: paths.caPem,
    DAUTH_AS_CLIENTS_FILE: paths.clientsFile,
    DAUTH_AS_RESOURCES_FILE: paths.resourcesFile,
    DAUTH_MCP_CLIENT_FILE: paths.mcpClientFile,
    DAUTH_ENCLAVE_CLIENT_KEY_FILE: paths.enclaveClientKeyFile,
    ...options.env,
  }
  const output: Record<ServiceName, string[]> = { upstream: [], as: [], enclave: [], mcp: [] }
  const processes: Partial<Record<ServiceName, ChildProcess>> = {}
  const caPem = await readFile(paths.caPem, 'utf8')
  const publicHost: Record<ServiceName, string> = {
    as: new URL(issuer).host,
    mcp: new URL(mcpUrl).host,
    enclave: new URL(enclaveUrl).host,
    upstream: new URL(upstreamUrl).host,
  }
  const readyUrl = (name: ServiceName, listenPort: number): string => {
    switch (name) {
      case 'as':
        return `${new URL(issuer).protocol}//localhost:${listenPort}${new URL(issuer).pathname.replace(/\/$/, '')}/.well-known/oauth-authorization-server`
      case 'enclave':
        return `http://127.0.0.1:${listenPort}/healthz`
      case 'mcp':
        return `http://localhost:${listenPort}/.well-known/oauth-protected-resource/mcp`
      case 'upstream':
        return `https://localhost:${listenPort}/healthz`
    }
  }
  const extras: ServiceInstance[] = []
  const spawnApp = (name: ServiceName, port: number, sink: string[]): ChildProcess => {
    const child = spawn(
      process.execPath,
      [join(REPO_ROOT, 'apps', APP_DIRS[name], 'src', 'main.ts')],
      {
        env: { ...env, [PORT_ENV[name]]: String(port) },
        cwd: REPO_ROOT,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    )
    for (const stream of ['stdout', 'stderr'] as const) {
      let partial = ''
      child[stream]?.setEncoding('utf8')
      child[stream]?.on('data', (chunk: string) => {
        const lines = (partial + chunk).split('\n')
        partial = lines.pop() ?? ''
        for (const line of lines) {
          sink.push(line)
          options.onLine?.(name, stream, line)
        }
      })
    }
    return child
  }
  const launch = (name: ServiceName) => {
    const child = spawnApp(name, listenPorts[name], output[name])
    processes[name] = child
    return child
  }
  const timeout = options.readyTimeoutMs ?? 30_000
  const ready = (name: ServiceName, port: number, child: ChildProcess) =>
    waitReady(
      name,
      readyUrl(name, port),
      child,
      timeout,
      name === 'upstream' ? caPem : undefined,
      publicHost[name],
    )
  const stopService = async (name: ServiceName) => {
    const child = processes[name]
    if (child) await stopProcess(child)
  }
  const startService = async (name: ServiceName) => {
    const current = processes[name]
    if (current && current.exitCode === null && current.signalCode === null) return
    await ready(name, listenPorts[name], launch(name))
  }
  const restart = async (name: ServiceName) => {
    await stopService(name)
    await startService(name)
  }
  const startInstance = async (
    name: ServiceName,
    instanceOptions?: { port?: number },
  ): Promise<ServiceInstance> => {
    const port = instanceOptions?.port ? instanceOptions.port : await freePort()
    const sink: string[] = []
    const child = spawnApp(name, port, sink)
    const instance: ServiceInstance = {
      service: name,
      port,
      process: child,
      output: sink,
      stop: () => stopProcess(child),
    }
    extras.push(instance)
    try {
      await ready(name, port, child)
    } catch (error) {
      await instance.stop()
      throw new Error(`${(error as Error).message}\n${sink.slice(-15).join('\n')}`, {
        cause: error,
      })
    }
    return instance
  }
  const stop = async () => {
    await Promise.all(
      [...Object.values(processes), ...extras.map((instance) => instance.process)].map((child) =>
        stopProcess(child),
      ),
    )
  }
  try {
    const upstream = launch('upstream')
    const as = launch('as')
    await Promise.all([
      ready('upstream', listenPorts.upstream, upstream),
      ready('as', listenPorts.as, as),
    ])
    await ready('enclave', listenPorts.enclave, launch('enclave'))
    await ready('mcp', listenPorts.mcp, launch('mcp'))
  } catch (error) {
    await stop()
    const tails = Object.entries(output)
      .map(([name, lines]) => `--- ${name} ---\n${lines.slice(-15).join('\n')}`)
      .join('\n')
    throw new Error(`${(error as Error).message}\n${tails}`, { cause: error })
  }
  return {
    issuer,
    mcpUrl,
    enclaveUrl,
    upstreamUrl,
    paths,
    output,
    processes: processes as Record<ServiceName, ChildProcess>,
    listenPorts,
    env,
    restart,
    stopService,
    startService,
    startInstance,
    stop,
  }
}

// The children get the parent's environment minus anything that looks like a credential, so
// that a developer's shell secrets never reach a process that logs its environment.
function filteredParentEnv(): Record<string, string> {
  const env: Record<string, string> = {}
  for (const [key, value] of Object.entries(process.env)) {
    if (value === undefined) continue
    if (/TOKEN|SECRET|PASSWORD|API_KEY|PRIVATE/i.test(key)) continue
    if (key.startsWith('DAUTH_') || key === 'DATABASE_URL' || key === 'REDIS_URL') continue
    env[key] = value
  }
  return env
}

async function waitReady(
  name: ServiceName,
  url: string,
  child: ChildProcess | undefined,
  timeoutMs: number,
  caPem?: string,
  hostHeader?: string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs
  let last = ''
  while (Date.now() < deadline) {
    if (!child || child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`${name} exited before it was ready (code ${child?.exitCode ?? 'none'})`)
    }
    try {
      const status = await probe(url, caPem, hostHeader)
      if (status === 200) return
      last = `HTTP ${status}`
    } catch (error) {
      last = (error as Error).message
    }
    await new Promise((r) => setTimeout(r, 100))
  }
  throw new Error(`${name} not ready at ${url} after ${timeoutMs} ms (${last})`)
}

// node:http(s) rather than fetch: a process behind a proxy is probed on its own port with the
// public Host header it checks.
async function probe(url: string, caPem?: string, hostHeader?: string): Promise<number> {
  const { request } = url.startsWith('https:')
    ? await import('node:https')
    : await import('node:http')
  return new Promise((resolveStatus, reject) => {
    const req = request(
      url,
      {
        ...(caPem !== undefined ? { ca: caPem } : {}),
        ...(hostHeader !== undefined ? { headers: { host: hostHeader } } : {}),
        timeout: 2000,
        agent: false,
      },
      (res) => {
        res.resume()
        res.on('end', () => resolveStatus(res.statusCode ?? 0))
      },
    )
    req.on('error', reject)
    req.on('timeout', () => req.destroy(new Error('timeout')))
    req.end()
  })
}
