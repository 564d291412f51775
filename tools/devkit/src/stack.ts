// Starts the four processes of the stack (AS, enclave, example MCP server, demo upstream) as
// real OS processes, waits until each answers its readiness URL, and stops them all. Used by
// `pnpm dev` (fixed ports, `.dauth/`) and by the end-to-end tests (free ports, a temp folder).
import { type ChildProcess, spawn } from 'node:child_process'
import { createServer } from 'node:net'
import { readFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { type DevStatePaths, ensureDevState } from './devState.ts'

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
  stop(): Promise<void>
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
  const stateDir = resolve(options.stateDir)
  const paths = await ensureDevState({ stateDir, issuer, mcpUrl, enclaveUrl })

  const env: Record<string, string> = {
    ...filteredParentEnv(),
    DAUTH_STATE_DIR: stateDir,
    DAUTH_ISSUER: issuer,
    DAUTH_AS_PORT: String(ports.as),
    DAUTH_MCP_URL: mcpUrl,
    DAUTH_MCP_PORT: String(ports.mcp),
    DAUTH_ENCLAVE_URL: enclaveUrl,
    DAUTH_ENCLAVE_PORT: String(ports.enclave),
    DAUTH_UPSTREAM_PORT: String(ports.upstream),
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
  const launch = (name: ServiceName, app: string) => {
    const child = spawn(process.execPath, [join(REPO_ROOT, 'apps', app, 'src', 'main.ts')], {
      env,
      cwd: REPO_ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    processes[name] = child
    for (const stream of ['stdout', 'stderr'] as const) {
      let partial = ''
      child[stream]?.setEncoding('utf8')
      child[stream]?.on('data', (chunk: string) => {
        const lines = (partial + chunk).split('\n')
        partial = lines.pop() ?? ''
        for (const line of lines) {
          output[name].push(line)
          options.onLine?.(name, stream, line)
        }
      })
    }
    return child
  }
  const stop = async () => {
    await Promise.all(Object.values(processes).map((child) => stopProcess(child)))
  }
  const timeout = options.readyTimeoutMs ?? 30_000
  try {
    launch('upstream', 'demo-upstream')
    launch('as', 'as')
    await Promise.all([
      waitReady(
        'upstream',
        `${upstreamUrl}/healthz`,
        processes.upstream,
        timeout,
        await readFile(paths.caPem, 'utf8'),
      ),
      waitReady('as', `${issuer}/.well-known/oauth-authorization-server`, processes.as, timeout),
    ])
    launch('enclave', 'enclave')
    await waitReady('enclave', `${enclaveUrl}/healthz`, processes.enclave, timeout)
    launch('mcp', 'example-mcp')
    await waitReady(
      'mcp',
      `http://localhost:${ports.mcp}/.well-known/oauth-protected-resource/mcp`,
      processes.mcp,
      timeout,
    )
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
): Promise<void> {
  const deadline = Date.now() + timeoutMs
  let last = ''
  while (Date.now() < deadline) {
    if (!child || child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`${name} exited before it was ready (code ${child?.exitCode ?? 'none'})`)
    }
    try {
      const status = await probe(url, caPem)
      if (status === 200) return
      last = `HTTP ${status}`
    } catch (error) {
      last = (error as Error).message
    }
    await new Promise((r) => setTimeout(r, 100))
  }
  throw new Error(`${name} not ready at ${url} after ${timeoutMs} ms (${last})`)
}

async function probe(url: string, caPem?: string): Promise<number> {
  if (!url.startsWith('https:')) {
    const res = await fetch(url, { signal: AbortSignal.timeout(2000) })
    await res.arrayBuffer()
    return res.status
  }
  const { request } = await import('node:https')
  return new Promise((resolveStatus, reject) => {
    const req = request(url, { ca: caPem, timeout: 2000 }, (res) => {
      res.resume()
      res.on('end', () => resolveStatus(res.statusCode ?? 0))
    })
    req.on('error', reject)
    req.on('timeout', () => req.destroy(new Error('timeout')))
    req.end()
  })
}

async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise<void>((r) => child.once('exit', () => r()))
  child.kill('SIGTERM')
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000)
  await exited
  clearTimeout(timer)
}
