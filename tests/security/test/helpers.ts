// Shared harness of the security suite: a stack over real processes, owners with sealed
// connections, tool calls that record every body the test saw, the canary scanner and the
// AS database dump.
import { randomBytes } from 'node:crypto'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { connect, createServer, type Socket } from 'node:net'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DatabaseSync } from 'node:sqlite'
import type { Redis } from 'ioredis'
import type pg from 'pg'
import { type Stack, type StackOptions, startStack } from '@dauth/devkit'
import type { CredentialInjection } from '@dauth/protocol'
import {
  type ClientAuth,
  ClientCredentialsAuth,
  DAuthConnections,
  MCPClient,
  registerClient,
} from '@dauth/sdk-client'
import { loadAttestationPolicy } from '@dauth/sdk-client/node'

export interface TestStack {
  stack: Stack
  stateDir: string
  close(): Promise<void>
}

export async function startTestStack(
  options: Omit<StackOptions, 'stateDir'> = {},
): Promise<TestStack> {
  const stateDir = await mkdtemp(join(tmpdir(), 'dauth-sec-'))
  try {
    const stack = await startStack({ ...options, stateDir })
    return {
      stack,
      stateDir,
      close: async () => {
        await stack.stop()
        await rm(stateDir, { recursive: true, force: true })
      },
    }
  } catch (error) {
    await rm(stateDir, { recursive: true, force: true })
    throw error
  }
}

/** A registered client (one owner) with its vault and MCP auths. */
export interface Owner {
  clientId: string
  clientSecret: string
  connections: DAuthConnections
  mcpAuth: ClientAuth
}

export async function newOwner(
  issuer: string,
  mcpUrl: string,
  attestationFile: string,
): Promise<Owner> {
  const client = await registerClient(issuer, {
    client_name: 'security suite',
    grant_types: ['client_credentials'],
    response_types: [],
    redirect_uris: [],
    token_endpoint_auth_method: 'client_secret_basic',
    dpop_bound_access_tokens: true,
  })
  const clientSecret = client.client_secret ?? ''
  const auth = (resource: string, scope: string) =>
    ClientCredentialsAuth({
      issuer,
      clientId: client.client_id,
      clientSecret,
      resource,
      scope,
      dpop: true,
    })
  return {
    clientId: client.client_id,
    clientSecret,
    connections: new DAuthConnections({
      issuer,
      auth: auth(`${issuer}/connections`, 'connections:read connections:write'),
      attestation: await loadAttestationPolicy(attestationFile),
    }),
    mcpAuth: auth(mcpUrl, 'read api:call'),
  }
}

export async function addConnection(
  owner: Owner,
  upstreamHost: string,
  secret: string,
  inject: CredentialInjection,
): Promise<{ connectionId: string; handle: string }> {
  return owner.connections.create({
    name: 'demo',
    provider: 'demo-upstream',
    secret,
    allowedHosts: [upstreamHost],
    inject,
  })
}

/** What a tool call returned: the error flag and the text content. */
export interface ToolAnswer {
  isError: boolean
  text: string
}

/** Every tool answer any test saw, for the canary scan. */
export const seenBodies: string[] = []

export async function callTool(
  mcpUrl: string,
  auth: ClientAuth,
  name: string,
  args: Record<string, unknown>,
): Promise<ToolAnswer> {
  const mcp = await MCPClient.connect(mcpUrl, { auth })
  try {
    const result = await mcp.callTool(name, args)
    seenBodies.push(JSON.stringify(result))
    const text = result.content.find((item) => item.type === 'text')
    return { isError: result.isError === true, text: text?.type === 'text' ? text.text : '' }
  } finally {
    await mcp.close()
  }
}

/** The enclave's dispatch answer as `api_request` returns it. */
export interface DispatchAnswer {
  status: number
  headers: Record<string, string>
  body: string
}

export function parseDispatch(answer: ToolAnswer): DispatchAnswer {
  if (answer.isError) throw new Error(`tool error: ${answer.text}`)
  return JSON.parse(answer.text) as DispatchAnswer
}

export const upstreamConnections = (lines: readonly string[]): number =>
  lines.filter((line) => line.includes('"msg":"connection"')).length

/** The paths of the requests the demo upstream logged (`{"msg":"request","path",…}`). */
export const upstreamRequests = (lines: readonly string[]): string[] =>
  lines
    .filter((line) => line.includes('"msg":"request"'))
    .map((line) => String((JSON.parse(line) as { path?: unknown }).path))

/** A printable-ASCII canary whose JSON and URL encodings differ from the raw form. */
export function makeCanary(): string {
  return `cnry"${randomBytes(18).toString('base64url')}/+=&%\\`
}

/** Every form the canary could leak in (ARCHITECTURE / enclave README redaction list). */
export function canaryForms(
  canary: string,
  basicUsers: readonly string[] = [],
): Map<string, string> {
  const bytes = Buffer.from(canary, 'utf8')
  const forms = new Map<string, string>([
    ['raw', canary],
    ['core', canary.slice(5, 5 + 24)],
    ['hex', bytes.toString('hex')],
    ['HEX', bytes.toString('hex').toUpperCase()],
    ['base64', bytes.toString('base64')],
    ['base64-unpadded', bytes.toString('base64').replace(/=+$/, '')],
    ['base64url', bytes.toString('base64url')],
    ['url-encoded', encodeURIComponent(canary)],
    ['form-encoded', new URLSearchParams({ x: canary }).toString().slice(2)],
    ['json-escaped', JSON.stringify(canary).slice(1, -1)],
    ['json-in-json', JSON.stringify(JSON.stringify(canary)).slice(1, -1)],
  ])
  for (const user of basicUsers) {
    const basic = Buffer.from(`${user}:${canary}`, 'utf8').toString('base64')
    forms.set(`basic(${user})`, basic)
    forms.set(`basic-unpadded(${user})`, basic.replace(/=+$/, ''))
  }
  return forms
}

/** Names of (source, form) pairs where a canary form occurs. */
export function scanForCanary(
  sources: Record<string, string>,
  forms: Map<string, string>,
): string[] {
  const hits: string[] = []
  for (const [source, text] of Object.entries(sources)) {
    for (const [form, value] of forms) {
      if (text.includes(value)) hits.push(`${form} in ${source}`)
    }
  }
  return hits
}

/**
 * A stored value as the texts a leak could show in: bytes as UTF-8, hex and base64 (a
 * column or key holding the secret's bytes is found in any of them), objects as JSON.
 */
export function valueAsText(value: unknown): string[] {
  if (value instanceof Uint8Array) {
    const buffer = Buffer.from(value)
    return [buffer.toString('utf8'), buffer.toString('hex'), buffer.toString('base64')]
  }
  if (value instanceof Date) return [value.toISOString()]
  if (value !== null && typeof value === 'object') return [JSON.stringify(value)]
  return [String(value)]
}

/** Every row of every table of a node:sqlite file as text (BLOBs as UTF-8, hex and base64). */
export function dumpSqlite(file: string): string {
  if (!existsSync(file)) throw new Error(`no database at ${file}`)
  const db = new DatabaseSync(file, { readOnly: true })
  try {
    const tables = db
      .prepare("SELECT name FROM sqlite_master WHERE type = 'table'")
      .all()
      .map((row) => String(row.name))
    const parts: string[] = []
    for (const table of tables) {
      parts.push(`## ${table}`)
      for (const row of db.prepare(`SELECT * FROM "${table.replaceAll('"', '""')}"`).all()) {
        for (const value of Object.values(row)) parts.push(...valueAsText(value))
      }
    }
    if (tables.length === 0) throw new Error('the AS database has no tables')
    return parts.join('\n')
  } finally {
    db.close()
  }
}

export async function waitFor(
  check: () => boolean | Promise<boolean>,
  timeoutMs: number,
  what: string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (await check()) return
    await new Promise((r) => setTimeout(r, 50))
  }
  throw new Error(`timed out waiting for ${what}`)
}

/** How a {@link TcpProxy} treats connections. */
export type ProxyMode = 'forward' | 'reset' | 'blackhole'

/**
 * A TCP proxy the test controls: round-robin over `backends` (a backend that refuses the
 * connection is skipped), or pinned to one; `mode` cuts it (`reset`: every connection is
 * destroyed at once; `blackhole`: accepted and never answered). Changing the pin or the mode
 * destroys every open connection so that pooled clients reconnect.
 */
export interface TcpProxy {
  port: number
  /** Connections forwarded to each backend so far. */
  counts: number[]
  /** Resolves once the cut connections' peers (in this process) have seen them close. */
  pin(index: number | undefined): Promise<void>
  setMode(mode: ProxyMode): Promise<void>
  close(): Promise<void>
}

export async function startTcpProxy(backends: readonly number[], port = 0): Promise<TcpProxy> {
  const sockets = new Set<Socket>()
  const counts = backends.map(() => 0)
  let next = 0
  let pinned: number | undefined
  let mode: ProxyMode = 'forward'
  const track = (socket: Socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
    socket.on('error', () => socket.destroy())
  }
  const server = createServer((client) => {
    track(client)
    if (mode === 'reset') return void client.resetAndDestroy()
    if (mode === 'blackhole') return
    client.pause()
    const order =
      pinned !== undefined ? [pinned] : backends.map((_, i) => (next + i) % backends.length)
    next = (next + 1) % backends.length
    const attempt = (i: number) => {
      const index = order[i]
      const backendPort = index === undefined ? undefined : backends[index]
      if (index === undefined || backendPort === undefined) return void client.destroy()
      const upstream = connect(backendPort, '127.0.0.1')
      upstream.once('error', () => {
        upstream.destroy()
        if (!upstream.readableEnded && counts[index] !== undefined && !connected) attempt(i + 1)
        else client.destroy()
      })
      let connected = false
      upstream.once('connect', () => {
        connected = true
        counts[index] = (counts[index] ?? 0) + 1
        track(upstream)
        client.pipe(upstream)
        upstream.pipe(client)
        client.resume()
        client.on('close', () => upstream.destroy())
        upstream.on('close', () => client.destroy())
      })
    }
    attempt(0)
  })
  const cutAll = async () => {
    for (const socket of sockets) socket.destroy()
    // Let pooled clients in this process process the close before their next request.
    await new Promise((r) => setTimeout(r, 100))
  }
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve))
  const address = server.address()
  return {
    port: typeof address === 'object' && address ? address.port : 0,
    counts,
    pin(index) {
      pinned = index
      return cutAll()
    },
    setMode(value) {
      mode = value
      return cutAll()
    },
    close: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()))
      await cutAll()
      await closed
    },
  }
}

/** Pids of the enclave launcher's children running the permission-restricted worker. */
export function workerPids(launcherPid: number): number[] {
  const pids: number[] = []
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8')
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1])
      if (ppid !== launcherPid) continue
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0')
      if (cmdline.includes('--permission')) pids.push(Number(entry))
    } catch {
      // the process ended while we looked
    }
  }
  return pids
}

/** Resident set size of a process in KiB (`VmRSS` of /proc/<pid>/status), or undefined. */
export function readRssKiB(pid: number): number | undefined {
  try {
    const match = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
    return match?.[1] === undefined ? undefined : Number(match[1])
  } catch {
    return undefined // the process ended
  }
}

/**
 * The inspector URL a process started with `NODE_OPTIONS=--inspect=127.0.0.1:0` printed
 * (`Debugger listening on ws://…`), or undefined.
 */
export function inspectorUrl(lines: readonly string[]): string | undefined {
  for (let i = lines.length - 1; i >= 0; i--) {
    const match = /Debugger listening on (ws:\/\/127\.0\.0\.1:\d+\/[\w-]+)/.exec(lines[i] ?? '')
    if (match?.[1]) return match[1]
  }
  return undefined
}

/**
 * Runs two full garbage collections in a process through its inspector (Chrome DevTools
 * Protocol `HeapProfiler.collectGarbage`), so that its RSS afterwards measures what it
 * retains rather than garbage V8 has not collected yet.
 */
export async function collectGarbage(url: string, timeoutMs = 10_000): Promise<void> {
  const socket = new WebSocket(url)
  const timer = setTimeout(() => socket.close(), timeoutMs)
  try {
    await new Promise<void>((resolve, reject) => {
      let id = 0
      const send = () =>
        socket.send(JSON.stringify({ id: ++id, method: 'HeapProfiler.collectGarbage' }))
      socket.addEventListener('open', send)
      socket.addEventListener('message', (event) => {
        const message = JSON.parse(String(event.data)) as { id?: number; error?: unknown }
        if (message.error !== undefined)
          reject(new Error(`inspector: ${JSON.stringify(message.error)}`))
        else if (message.id === 2) resolve()
        else if (message.id === 1) send()
      })
      socket.addEventListener('close', () => reject(new Error(`inspector ${url} closed`)))
      socket.addEventListener('error', () => reject(new Error(`inspector ${url} failed`)))
    })
  } finally {
    clearTimeout(timer)
    socket.close()
  }
}

/**
 * Every row of every table of the PostgreSQL database `client` is connected to (the test's
 * own database), as text: `pg_dump` without the binary.
 */
export async function dumpPostgres(
  client: pg.Client,
): Promise<{ text: string; tables: number; rows: number }> {
  const { rows: tables } = await client.query<{ schema: string; name: string }>(
    `SELECT table_schema AS schema, table_name AS name FROM information_schema.tables
     WHERE table_type = 'BASE TABLE' AND table_schema NOT IN ('pg_catalog', 'information_schema')
     ORDER BY 1, 2`,
  )
  const quote = (name: string) => `"${name.replaceAll('"', '""')}"`
  const parts: string[] = []
  let count = 0
  for (const { schema, name } of tables) {
    parts.push(`## ${schema}.${name}`)
    const { rows } = await client.query<Record<string, unknown>>(
      `SELECT * FROM ${quote(schema)}.${quote(name)}`,
    )
    count += rows.length
    for (const row of rows)
      for (const value of Object.values(row)) parts.push(...valueAsText(value))
  }
  return { text: parts.join('\n'), tables: tables.length, rows: count }
}

/** Every key of the Redis logical database `redis` has selected, with its value, as text. */
export async function dumpRedis(redis: Redis): Promise<{ text: string; keys: number }> {
  const parts: string[] = []
  let keys = 0
  let cursor = '0'
  do {
    const [next, batch] = await redis.scanBuffer(cursor, 'COUNT', 500)
    cursor = next.toString()
    for (const key of batch) {
      keys++
      parts.push(...valueAsText(key))
      const type = await redis.type(key)
      const values: Buffer[] =
        type === 'string'
          ? [(await redis.getBuffer(key)) ?? Buffer.alloc(0)]
          : type === 'hash'
            ? Object.entries(await redis.hgetallBuffer(key)).flatMap(([field, value]) => [
                Buffer.from(field),
                value,
              ])
            : type === 'set'
              ? await redis.smembersBuffer(key)
              : type === 'list'
                ? await redis.lrangeBuffer(key, 0, -1)
                : type === 'zset'
                  ? await redis.zrangeBuffer(key, 0, -1)
                  : [Buffer.from(`(a ${type} value, not read)`)]
      for (const value of values) parts.push(...valueAsText(value))
    }
  } while (cursor !== '0')
  return { text: parts.join('\n'), keys }
}
