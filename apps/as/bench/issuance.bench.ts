// Benchmark: DPoP-bound client-credentials token issuance over real loopback HTTP.
//
//   pnpm --filter @dauth/as bench            (full: warm-up + 3 interleaved repeats)
//   BENCH_QUICK=1 pnpm --filter @dauth/as bench   (~10 s smoke)
//
// Targets, all started in this process:
//   embedded — startAuthorizationServer on node:sqlite (temp state dir)
//   postgres — startAuthorizationServer on PostgreSQL (temp database, dropped at the end) + Redis
//   memory   — baseline: a minimal oidc-provider 9 with its default memory adapter, configured
//              like the AS (clientCredentials + dPoP + resourceIndicators, ES256 JWT access
//              tokens). startAuthorizationServer has no option for oidc-provider's memory
//              adapter (its adapter is always the SQLite/PostgreSQL store), so the baseline is
//              built here without touching src/.
// The load runs in a SEPARATE child process (this file with argv "load"): a node:http
// keep-alive client loop at fixed concurrency; every request carries a fresh DPoP proof
// (createDpopProof, a few keys) generated before the timed window.
import { fork, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import http from 'node:http'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { createDpopProof, generateDpopKeyPair } from '@dauth/protocol'
import { exportJWK, generateKeyPair } from 'jose'
import Provider, { errors as oidcErrors } from 'oidc-provider'
import pg from 'pg'
import { startAuthorizationServer } from '../src/index.ts'

const QUICK = process.env.BENCH_QUICK === '1'
const CONCURRENCY = 8
const REPEATS = 3
const WARMUP_REQUESTS = QUICK ? 100 : 1500
const MEASURED_REQUESTS = QUICK ? 150 : 4000
const DPOP_KEYS = 4
const RESOURCE = 'http://localhost:4100/mcp'
const SCOPE = 'read'
const CLIENT_ID = 'bench-client'
const POSTGRES_ADMIN_URL = 'postgres://postgres@127.0.0.1:5432/postgres'
const REDIS_URL = 'redis://127.0.0.1:6379'

interface LoadJob {
  tokenUrl: string
  authorization: string
  requests: number
  concurrency: number
}

interface RunResult {
  requests: number
  errors: number
  firstError?: string
  elapsedMs: number
  rps: number
  p50Ms: number
  p99Ms: number
  proofGenMs: number
}

// ---------------------------------------------------------------- load process

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN
  const index = Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)
  return sorted[Math.max(0, index)] ?? Number.NaN
}

async function runLoad(job: LoadJob, keys: Awaited<ReturnType<typeof generateDpopKeyPair>>[]) {
  const proofGenStart = performance.now()
  const proofs: string[] = []
  for (let i = 0; i < job.requests; i++) {
    const key = keys[i % keys.length]
    if (!key) throw new Error('no DPoP key')
    proofs.push(await createDpopProof(key, { htm: 'POST', htu: job.tokenUrl }))
  }
  const proofGenMs = performance.now() - proofGenStart
  const body = new URLSearchParams({
    grant_type: 'client_credentials',
    resource: RESOURCE,
    scope: SCOPE,
  }).toString()
  const url = new URL(job.tokenUrl)
  const agent = new http.Agent({ keepAlive: true, maxSockets: job.concurrency })
  const latencies: number[] = []
  let errors = 0
  let firstError: string | undefined
  let next = 0

  const one = (proof: string) =>
    new Promise<void>((resolve, reject) => {
      const started = performance.now()
      const req = http.request(
        {
          agent,
          host: url.hostname,
          port: url.port,
          path: url.pathname,
          method: 'POST',
          headers: {
            authorization: job.authorization,
            'content-type': 'application/x-www-form-urlencoded',
            'content-length': Buffer.byteLength(body),
            dpop: proof,
          },
        },
        (res) => {
          const chunks: Buffer[] = []
          res.on('data', (chunk: Buffer) => chunks.push(chunk))
          res.on('end', () => {
            latencies.push(performance.now() - started)
            const text = Buffer.concat(chunks).toString('utf8')
            let ok = res.statusCode === 200
            if (ok) {
              const parsed = JSON.parse(text) as { token_type?: string; access_token?: unknown }
              ok = parsed.token_type === 'DPoP' && typeof parsed.access_token === 'string'
            }
            if (!ok) {
              errors++
              // Error bodies carry no token; never log a successful body.
              firstError ??= `${res.statusCode} ${res.statusCode === 200 ? '(not a DPoP token)' : text.slice(0, 200)}`
            }
            resolve()
          })
          res.on('error', reject)
        },
      )
      req.on('error', reject)
      req.end(body)
    })

  const worker = async () => {
    for (;;) {
      const i = next++
      const proof = proofs[i]
      if (proof === undefined) return
      await one(proof)
    }
  }
  const start = performance.now()
  await Promise.all(Array.from({ length: job.concurrency }, worker))
  const elapsedMs = performance.now() - start
  agent.destroy()
  latencies.sort((a, b) => a - b)
  const result: RunResult = {
    requests: job.requests,
    errors,
    elapsedMs,
    rps: (job.requests / elapsedMs) * 1000,
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    proofGenMs,
  }
  if (firstError !== undefined) result.firstError = firstError
  return result
}

function send(message: unknown): void {
  if (process.connected) process.send?.(message)
}

async function loadProcessMain(): Promise<void> {
  const keys = await Promise.all(Array.from({ length: DPOP_KEYS }, () => generateDpopKeyPair()))
  process.on('message', (message: { type: 'run'; job: LoadJob } | { type: 'exit' }) => {
    if (message.type === 'exit') {
      process.disconnect()
      return
    }
    runLoad(message.job, keys).then(
      (result) => send({ type: 'result', result }),
      (error: unknown) =>
        send({
          type: 'error',
          message: error instanceof Error ? error.message : String(error),
        }),
    )
  })
  // The orchestrator went away (signal, crash): stop instead of loading a dead server.
  process.once('disconnect', () => process.exit(0))
  send({ type: 'ready' })
}

// ---------------------------------------------------------------- orchestrator

interface Target {
  name: 'embedded' | 'postgres' | 'memory'
  tokenUrl: string
  close(): Promise<void>
}

class LoadClient {
  readonly child: ChildProcess
  private constructor(child: ChildProcess) {
    this.child = child
  }

  static async start(): Promise<LoadClient> {
    const child = fork(import.meta.filename, ['load'], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    })
    await new Promise<void>((resolve, reject) => {
      child.once('message', () => resolve())
      child.once('exit', (code) => reject(new Error(`load process exited early (${code})`)))
    })
    return new LoadClient(child)
  }

  run(job: LoadJob): Promise<RunResult> {
    return new Promise((resolve, reject) => {
      const onExit = () => reject(new Error('load process exited'))
      this.child.once('exit', onExit)
      this.child.once(
        'message',
        (message: { type: 'result'; result: RunResult } | { type: 'error'; message: string }) => {
          this.child.off('exit', onExit)
          if (message.type === 'result') resolve(message.result)
          else reject(new Error(`load process: ${message.message}`))
        },
      )
      this.child.send({ type: 'run', job })
    })
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || !this.child.connected) return
    const exited = new Promise((resolve) => this.child.once('exit', resolve))
    this.child.send({ type: 'exit' })
    await exited
  }
}

async function tokenEndpoint(
  issuer: string,
  wellKnown = 'oauth-authorization-server',
): Promise<string> {
  const response = await fetch(`${issuer}/.well-known/${wellKnown}`)
  if (response.status !== 200) throw new Error(`metadata: HTTP ${response.status}`)
  const metadata = (await response.json()) as { token_endpoint?: unknown }
  if (typeof metadata.token_endpoint !== 'string')
    throw new Error('metadata without token_endpoint')
  return metadata.token_endpoint
}

async function writeStateFiles(dir: string, clientSecret: string) {
  const clientsFile = join(dir, 'clients.json')
  const resourcesFile = join(dir, 'resources.json')
  const client = {
    client_id: CLIENT_ID,
    client_secret: clientSecret,
    token_endpoint_auth_method: 'client_secret_basic',
    grant_types: ['client_credentials'],
    response_types: [],
    redirect_uris: [],
    scope: SCOPE,
  }
  await writeFile(clientsFile, JSON.stringify([client]), { mode: 0o600 })
  await writeFile(
    resourcesFile,
    JSON.stringify({
      resources: [{ resource: RESOURCE, scopes: [SCOPE], connections: [], accessTokenTtl: 300 }],
    }),
  )
  return { clientsFile, resourcesFile }
}

async function startDauth(
  name: 'embedded' | 'postgres',
  stateDir: string,
  clientSecret: string,
  databaseUrl?: string,
): Promise<Target> {
  const files = await writeStateFiles(stateDir, clientSecret)
  const server = await startAuthorizationServer({
    port: 0,
    host: '127.0.0.1',
    stateDir,
    enclaveUrl: 'http://127.0.0.1:4200',
    logger: false,
    ...files,
    ...(databaseUrl === undefined ? {} : { databaseUrl, redisUrl: REDIS_URL }),
  })
  return { name, tokenUrl: await tokenEndpoint(server.url), close: () => server.close() }
}

async function startMemoryBaseline(clientSecret: string): Promise<Target> {
  const server = http.createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  if (address === null || typeof address === 'string') throw new Error('no port')
  const issuer = `http://127.0.0.1:${address.port}`
  const { privateKey } = await generateKeyPair('ES256', { extractable: true })
  const jwk = { ...(await exportJWK(privateKey)), alg: 'ES256', use: 'sig', kid: 'bench' }
  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: CLIENT_ID,
        client_secret: clientSecret,
        token_endpoint_auth_method: 'client_secret_basic',
        grant_types: ['client_credentials'],
        response_types: [],
        redirect_uris: [],
        scope: SCOPE,
      },
    ],
    jwks: { keys: [jwk] },
    cookies: { keys: [randomBytes(32).toString('base64url')] },
    routes: { token: '/oauth/token' },
    scopes: [SCOPE],
    clientDefaults: {
      grant_types: ['authorization_code'],
      id_token_signed_response_alg: 'ES256',
      token_endpoint_auth_method: 'client_secret_basic',
      dpop_bound_access_tokens: true,
    },
    enabledJWA: { dPoPSigningAlgValues: ['ES256', 'EdDSA'] },
    ttl: {
      AccessToken: (_ctx, token) => token.resourceServer?.accessTokenTTL ?? 300,
      ClientCredentials: (_ctx, token) => token.resourceServer?.accessTokenTTL ?? 300,
    },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      dPoP: { enabled: true, nonceSecret: randomBytes(32), requireNonce: () => false },
      resourceIndicators: {
        enabled: true,
        defaultResource: (_ctx, _client, oneOf) => {
          if (oneOf && oneOf.length > 0) return oneOf
          throw new oidcErrors.InvalidTarget('the resource parameter is required')
        },
        useGrantedResource: () => true,
        getResourceServerInfo: (_ctx, resourceIndicator) => {
          if (resourceIndicator !== RESOURCE) throw new oidcErrors.InvalidTarget('unknown resource')
          return {
            scope: SCOPE,
            audience: RESOURCE,
            accessTokenTTL: 300,
            accessTokenFormat: 'jwt',
            jwt: { sign: { alg: 'ES256' } },
          }
        },
      },
    },
  })
  const callback = provider.callback()
  server.on('request', (req, res) => {
    void callback(req, res)
  })
  return {
    name: 'memory',
    // oidc-provider alone serves only the OIDC discovery document.
    tokenUrl: await tokenEndpoint(issuer, 'openid-configuration'),
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections()
        server.close((error) => (error ? reject(error) : resolve()))
      }),
  }
}

interface Summary {
  min: number
  median: number
  max: number
}

function summarize(values: number[]): Summary {
  const sorted = [...values].sort((a, b) => a - b)
  return {
    min: sorted[0] ?? Number.NaN,
    median: sorted[Math.floor(sorted.length / 2)] ?? Number.NaN,
    max: sorted.at(-1) ?? Number.NaN,
  }
}

async function main(): Promise<void> {
  const clientSecret = randomBytes(24).toString('base64url')
  const authorization = `Basic ${Buffer.from(`${CLIENT_ID}:${clientSecret}`).toString('base64')}`
  const tempRoot = await mkdtemp(join(tmpdir(), 'dauth-as-bench-'))
  const dbName = `dauth_bench_${randomBytes(6).toString('hex')}`
  const admin = new pg.Client({ connectionString: POSTGRES_ADMIN_URL })
  await admin.connect()
  let dbCreated = false
  const targets: Target[] = []
  let load: LoadClient | undefined
  let cleaning: Promise<void> | undefined
  // Runs once: on normal exit, on failure, and on SIGINT/SIGTERM (the database is dropped).
  const cleanup = () =>
    (cleaning ??= (async () => {
      await load?.stop().catch(() => undefined)
      for (const target of targets.reverse()) await target.close().catch(() => undefined)
      if (dbCreated) await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`)
      await admin.end()
      await rm(tempRoot, { recursive: true, force: true })
    })())
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      cleanup().then(
        () => process.exit(130),
        () => process.exit(1),
      )
    })
  }
  try {
    await admin.query(`CREATE DATABASE ${dbName}`)
    dbCreated = true
    const embeddedDir = join(tempRoot, 'embedded')
    const postgresDir = join(tempRoot, 'postgres')
    await mkdir(embeddedDir)
    await mkdir(postgresDir)
    targets.push(await startDauth('embedded', embeddedDir, clientSecret))
    targets.push(
      await startDauth(
        'postgres',
        postgresDir,
        clientSecret,
        `postgres://postgres@127.0.0.1:5432/${dbName}`,
      ),
    )
    targets.push(await startMemoryBaseline(clientSecret))
    load = await LoadClient.start()

    const job = (target: Target, requests: number): LoadJob => ({
      tokenUrl: target.tokenUrl,
      authorization,
      requests,
      concurrency: CONCURRENCY,
    })
    const check = (target: Target, result: RunResult) => {
      if (result.errors > 0)
        throw new Error(
          `${target.name}: ${result.errors} failed requests, first: ${result.firstError}`,
        )
    }

    console.log(
      `concurrency ${CONCURRENCY}, warm-up ${WARMUP_REQUESTS}, ${REPEATS} × ${MEASURED_REQUESTS} requests per target${QUICK ? ' (BENCH_QUICK)' : ''}`,
    )
    for (const target of targets) check(target, await load.run(job(target, WARMUP_REQUESTS)))

    const runs: Record<Target['name'], RunResult[]> = { embedded: [], postgres: [], memory: [] }
    for (let repeat = 0; repeat < REPEATS; repeat++) {
      // Interleaved, rotating the order so no target always runs first or last.
      const order = targets.map((_, i) => targets[(i + repeat) % targets.length] as Target)
      for (const target of order) {
        const result = await load.run(job(target, MEASURED_REQUESTS))
        check(target, result)
        runs[target.name].push(result)
        console.log(
          `  repeat ${repeat + 1} ${target.name.padEnd(8)} ${result.rps.toFixed(0).padStart(6)} req/s  p50 ${result.p50Ms.toFixed(2)} ms  p99 ${result.p99Ms.toFixed(2)} ms`,
        )
      }
    }

    const summaries = Object.fromEntries(
      targets.map((t) => [
        t.name,
        {
          rps: summarize(runs[t.name].map((r) => r.rps)),
          p50Ms: summarize(runs[t.name].map((r) => r.p50Ms)),
          p99Ms: summarize(runs[t.name].map((r) => r.p99Ms)),
          runs: runs[t.name],
        },
      ]),
    ) as Record<Target['name'], { rps: Summary; p50Ms: Summary; p99Ms: Summary; runs: RunResult[] }>
    const baseline = summaries.memory.rps.median
    const fmt = (s: Summary, digits: number) =>
      `${s.median.toFixed(digits)} (${s.min.toFixed(digits)}–${s.max.toFixed(digits)})`
    console.log(
      '\ntarget    req/s median (min–max)   p50 ms median (min–max)   p99 ms median (min–max)   vs memory',
    )
    for (const t of targets) {
      const s = summaries[t.name]
      console.log(
        `${t.name.padEnd(9)} ${fmt(s.rps, 0).padEnd(24)} ${fmt(s.p50Ms, 2).padEnd(25)} ${fmt(s.p99Ms, 2).padEnd(25)} ${((s.rps.median / baseline) * 100).toFixed(1)} %`,
      )
    }
    const embeddedRatio = summaries.embedded.rps.median / baseline
    console.log(
      `\nembedded/memory ${(embeddedRatio * 100).toFixed(1)} % (aim ≥ 80 %): ${embeddedRatio >= 0.8 ? 'met' : 'NOT met'}`,
    )

    const out =
      process.env.BENCH_JSON_OUT ?? join(import.meta.dirname, 'results', 'as-issuance.json')
    await mkdir(dirname(out), { recursive: true })
    await writeFile(
      out,
      `${JSON.stringify(
        {
          benchmark: 'as-issuance',
          date: new Date().toISOString(),
          node: process.version,
          quick: QUICK,
          concurrency: CONCURRENCY,
          warmupRequests: WARMUP_REQUESTS,
          measuredRequests: MEASURED_REQUESTS,
          repeats: REPEATS,
          dpopKeys: DPOP_KEYS,
          targets: summaries,
          ratios: {
            embeddedToMemory: embeddedRatio,
            postgresToMemory: summaries.postgres.rps.median / baseline,
          },
        },
        null,
        2,
      )}\n`,
    )
    console.log(`wrote ${out}`)
  } finally {
    await cleanup()
  }
}

if (process.argv[2] === 'load') {
  await loadProcessMain()
} else {
  await main()
}
