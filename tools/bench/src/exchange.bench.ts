/**
 * Authorization-server token exchange benchmark (issue 8): the RFC 8693 dispatch exchange
 * (an MCP server trades a user's access token for a ≤ 60 s DPoP-bound enclave token) beside
 * its baseline on the same AS in the same run, client-credentials issuance of that user's
 * access token (the exchange's subject token), both DPoP-bound.
 *
 * The AS is apps/as started by its own entry point (src/main.ts) in its own process, on the
 * embedded store (node:sqlite in a temporary state folder; DATABASE_URL and REDIS_URL are
 * not passed), as tools/devkit starts it. Setup goes through its public API: a connection
 * `demo` is created and given an envelope over the vault routes, so the subject token carries
 * its handle. The load comes from a separate process (src/rs/load.ts): fixed connections,
 * every request built before timing with a fresh DPoP proof, warm-up, repeats interleaved
 * (order alternated), medians, min / median / max.
 *
 * Run: pnpm --filter @dauth/bench bench:exchange   (BENCH_QUICK=1 for a smoke run)
 * Env: BENCH_QUICK, BENCH_JSON_OUT, BENCH_EXCHANGE_CONNECTIONS (8), BENCH_EXCHANGE_COUNT
 *      (3000; quick 60), BENCH_EXCHANGE_WARMUP (500; quick 20), BENCH_EXCHANGE_REPEATS (3).
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { loadavg, tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { performance } from 'node:perf_hooks'
import {
  ACCESS_TOKEN_TYPE,
  createDpopProof,
  type DpopKeyPair,
  generateDpopKeyPair,
  TOKEN_EXCHANGE_GRANT_TYPE,
} from '@dauth/protocol'
import { decodeJwt, exportJWK, generateKeyPair } from 'jose'
import {
  childEnv,
  envNumber,
  freePort,
  LoadGenerator,
  QUICK,
  type Measured,
  roundRun,
  roundSpread,
  stopChildren,
  stopChildrenOnSignal,
  waitReady,
} from './harness.ts'
import { renderExchangeMarkdown } from './report.ts'
import type { LoadSpec } from './rs/load.ts'
import { machineInfo, round, type Spread, spread } from './stats.ts'
import type { ExchangeBenchResult, ExchangeVariant, ExchangeVariantId } from './types.ts'

const CONNECTIONS = envNumber('BENCH_EXCHANGE_CONNECTIONS', 8)
const COUNT = envNumber('BENCH_EXCHANGE_COUNT', QUICK ? 60 : 3000)
const WARMUP = envNumber('BENCH_EXCHANGE_WARMUP', QUICK ? 20 : 500)
const REPEATS = envNumber('BENCH_EXCHANGE_REPEATS', 3)
const OUT = resolve(
  process.env.BENCH_JSON_OUT ?? resolve(import.meta.dirname, '..', 'results', 'exchange.json'),
)
const AS_MAIN = resolve(import.meta.dirname, '..', '..', '..', 'apps', 'as', 'src', 'main.ts')
const MCP_RESOURCE = 'http://127.0.0.1:4100/mcp'
const ENCLAVE_URL = 'http://127.0.0.1:4200'
const MCP_CLIENT = { client_id: 'bench-mcp', client_secret: randomBytes(24).toString('base64url') }
const USER_CLIENT = {
  client_id: 'bench-user',
  client_secret: randomBytes(24).toString('base64url'),
}
const LABELS: Record<ExchangeVariantId, string> = {
  exchange: 'RFC 8693 dispatch exchange (MCP client → enclave token, DPoP-bound)',
  client_credentials: 'client credentials (user client → MCP resource token, DPoP-bound)',
}

const started = performance.now()
const machine = machineInfo()
const progress = (text: string): void => {
  process.stderr.write(
    `[exchange ${((performance.now() - started) / 1000).toFixed(1)} s] ${text}\n`,
  )
}
const basic = (c: { client_id: string; client_secret: string }): string =>
  `Basic ${Buffer.from(`${encodeURIComponent(c.client_id)}:${encodeURIComponent(c.client_secret)}`).toString('base64')}`

const stateDir = mkdtempSync(join(tmpdir(), 'dauth-bench-exchange-'))
const children: ChildProcess[] = []
stopChildrenOnSignal(children)

async function startAs(): Promise<{ child: ChildProcess; issuer: string }> {
  const port = await freePort()
  const issuer = `http://127.0.0.1:${port}`
  const clientsFile = join(stateDir, 'clients.json')
  const resourcesFile = join(stateDir, 'resources.json')
  const confidential = (c: typeof MCP_CLIENT, grantTypes: string[]) => ({
    ...c,
    token_endpoint_auth_method: 'client_secret_basic',
    grant_types: grantTypes,
    response_types: [],
    redirect_uris: [],
  })
  writeFileSync(
    clientsFile,
    JSON.stringify([
      confidential(MCP_CLIENT, ['client_credentials', TOKEN_EXCHANGE_GRANT_TYPE]),
      confidential(USER_CLIENT, ['client_credentials']),
    ]),
    { mode: 0o600 },
  )
  writeFileSync(
    resourcesFile,
    JSON.stringify({
      resources: [
        {
          resource: MCP_RESOURCE,
          scopes: ['read'],
          connections: ['demo'],
          // Long enough for a full run: the subject token is minted once.
          accessTokenTtl: 3600,
          dispatchClients: [MCP_CLIENT.client_id],
        },
      ],
    }),
  )
  const {
    DATABASE_URL: _db,
    REDIS_URL: _redis,
    DAUTH_DEV: _dev,
    ...env
  } = childEnv({
    DAUTH_STATE_DIR: stateDir,
    DAUTH_AS_PORT: String(port),
    DAUTH_ISSUER: issuer,
    DAUTH_ENCLAVE_URL: ENCLAVE_URL,
    DAUTH_AS_CLIENTS_FILE: clientsFile,
    DAUTH_AS_RESOURCES_FILE: resourcesFile,
  })
  // stdout carries the AS's pino request log: discarded (its cost is in both variants alike).
  const child = spawn(process.execPath, [AS_MAIN], { env, stdio: ['ignore', 'ignore', 'inherit'] })
  children.push(child)
  await waitReady(`${issuer}/.well-known/oauth-authorization-server`, child)
  return { child, issuer }
}

async function tokenRequest(
  tokenEndpoint: string,
  client: typeof MCP_CLIENT,
  key: DpopKeyPair,
  params: Record<string, string>,
): Promise<string> {
  const response = await fetch(tokenEndpoint, {
    method: 'POST',
    headers: {
      authorization: basic(client),
      'content-type': 'application/x-www-form-urlencoded',
      dpop: await createDpopProof(key, { htm: 'POST', htu: tokenEndpoint }),
    },
    body: new URLSearchParams(params),
  })
  const body = (await response.json()) as Record<string, unknown>
  if (response.status !== 200 || typeof body.access_token !== 'string') {
    // Only error bodies are shown: they carry no token.
    throw new Error(
      `${params.grant_type} at ${tokenEndpoint}: HTTP ${response.status} ${response.status === 200 ? '(no access_token)' : JSON.stringify(body)}`,
    )
  }
  return body.access_token
}

async function vault(
  url: string,
  method: string,
  token: string,
  key: DpopKeyPair,
  body: unknown,
): Promise<Record<string, unknown>> {
  const response = await fetch(url, {
    method,
    headers: {
      authorization: `DPoP ${token}`,
      dpop: await createDpopProof(key, { htm: method, htu: url, accessToken: token }),
      'content-type': 'application/json',
    },
    body: JSON.stringify(body),
  })
  const answer = (await response.json()) as Record<string, unknown>
  if (response.status !== 200 && response.status !== 201)
    throw new Error(`${method} ${url}: HTTP ${response.status} ${JSON.stringify(answer)}`)
  return answer
}

const load = new LoadGenerator(progress)
children.push(load.child)
try {
  const as = await startAs()
  progress(`AS ready at ${as.issuer}`)
  const metadata = (await (
    await fetch(`${as.issuer}/.well-known/oauth-authorization-server`)
  ).json()) as { token_endpoint?: unknown }
  if (typeof metadata.token_endpoint !== 'string')
    throw new Error('AS metadata without token_endpoint')
  const tokenEndpoint = metadata.token_endpoint

  // The user's connection `demo`, created and filled through the vault API.
  const userKey = await generateDpopKeyPair()
  const vaultToken = await tokenRequest(tokenEndpoint, USER_CLIENT, userKey, {
    grant_type: 'client_credentials',
    resource: `${as.issuer}/connections`,
    scope: 'connections:read connections:write',
  })
  const created = await vault(`${as.issuer}/connections`, 'POST', vaultToken, userKey, {
    name: 'demo',
    provider: 'demo',
  })
  // The AS stores envelope ciphertext only and never opens it: an envelope-shaped value does.
  const uploaded = await vault(
    `${as.issuer}/connections/${String(created.connection_id)}/credential`,
    'PUT',
    vaultToken,
    userKey,
    {
      envelope: {
        v: 1,
        kid: 'box-key-1',
        alg: 'x25519-xsalsa20poly1305-sealedbox',
        ct: randomBytes(120).toString('base64url'),
      },
    },
  )
  const handle = String(uploaded.handle)
  const subjectToken = await tokenRequest(tokenEndpoint, USER_CLIENT, userKey, {
    grant_type: 'client_credentials',
    resource: MCP_RESOURCE,
    scope: 'read',
  })
  const carried = (decodeJwt(subjectToken).connections ?? {}) as Record<string, unknown>
  if (carried.demo !== handle) throw new Error('the subject token does not carry the connection')

  // The MCP server's DPoP key, handed to the load process as a private JWK.
  const mcpKeys = await generateKeyPair('ES256', { extractable: true })
  const dpopPrivateJwk = await exportJWK(mcpKeys.privateKey)
  const forms: Record<ExchangeVariantId, { form: string; authorization: string }> = {
    exchange: {
      form: new URLSearchParams({
        grant_type: TOKEN_EXCHANGE_GRANT_TYPE,
        subject_token: subjectToken,
        subject_token_type: ACCESS_TOKEN_TYPE,
        resource: ENCLAVE_URL,
        connections: handle,
      }).toString(),
      authorization: basic(MCP_CLIENT),
    },
    client_credentials: {
      form: new URLSearchParams({
        grant_type: 'client_credentials',
        resource: MCP_RESOURCE,
        scope: 'read',
      }).toString(),
      authorization: basic(USER_CLIENT),
    },
  }
  const port = Number(new URL(tokenEndpoint).port)
  const spec = (id: ExchangeVariantId, count: number): LoadSpec => ({
    auth: 'dpop',
    ports: [port],
    resourceUrl: tokenEndpoint,
    tokens: [],
    dpopPrivateJwk,
    connections: CONNECTIONS,
    count,
    tokenRequest: forms[id],
  })
  const pids = [as.child.pid]
  const ids: ExchangeVariantId[] = ['exchange', 'client_credentials']
  for (const id of ids) await load.measure(spec(id, WARMUP), pids, `warm-up ${id}`)
  const runs: Record<ExchangeVariantId, Measured[]> = { exchange: [], client_credentials: [] }
  for (let r = 0; r < REPEATS; r++) {
    for (const id of r % 2 === 0 ? ids : [...ids].reverse()) {
      runs[id].push(await load.measure(spec(id, COUNT), pids, id))
    }
  }

  const variant = (id: ExchangeVariantId): ExchangeVariant => ({
    label: LABELS[id],
    rps: roundSpread(spread(runs[id].map((x) => x.rps)), 0),
    p50_ms: roundSpread(spread(runs[id].map((x) => x.p50_ms)), 2),
    p99_ms: roundSpread(spread(runs[id].map((x) => x.p99_ms)), 2),
    server_cpu_us_per_req: roundSpread(spread(runs[id].map((x) => x.cpu_us_per_req)), 0),
    runs: runs[id].map(({ cpu_us_per_req: _, ...x }) => roundRun(x)),
  })
  const perRepeat = (f: (e: Measured, c: Measured) => number): Spread =>
    roundSpread(
      spread(
        runs.exchange.map((e, i) => {
          const c = runs.client_credentials[i]
          return c ? f(e, c) : Number.NaN
        }),
      ),
      3,
    )
  const result: ExchangeBenchResult = {
    name: 'as-token-exchange',
    version: 1,
    quick: QUICK,
    command: `${QUICK ? 'BENCH_QUICK=1 ' : ''}pnpm --filter @dauth/bench bench:exchange`,
    seconds: round((performance.now() - started) / 1000, 1),
    machine,
    loadAverageAfter: loadavg().map((x) => round(x)) as [number, number, number],
    setup:
      'apps/as src/main.ts in its own process, embedded store (node:sqlite), pino request log discarded; load generator in another process',
    config: { connections: CONNECTIONS, count: COUNT, warmup: WARMUP, repeats: REPEATS },
    variants: { exchange: variant('exchange'), client_credentials: variant('client_credentials') },
    ratios: {
      exchange_over_cc_rps: perRepeat((e, c) => e.rps / c.rps),
      exchange_over_cc_p50: perRepeat((e, c) => e.p50_ms / c.p50_ms),
      exchange_over_cc_p99: perRepeat((e, c) => e.p99_ms / c.p99_ms),
      exchange_over_cc_cpu_per_req: perRepeat((e, c) => e.cpu_us_per_req / c.cpu_us_per_req),
    },
    errors: load.errors,
    ...(load.firstError !== undefined ? { firstError: load.firstError } : {}),
  }
  mkdirSync(dirname(OUT), { recursive: true })
  writeFileSync(OUT, `${JSON.stringify(result, null, 2)}\n`)
  console.log(renderExchangeMarkdown(result))
  console.log(`JSON written to ${OUT}`)
  if (result.errors > 0) process.exitCode = 1
} finally {
  load.stop()
  await stopChildren(children)
  rmSync(stateDir, { recursive: true, force: true })
}
