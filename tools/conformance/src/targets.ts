import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { freePort, startStack, stopProcess } from '@dauth/devkit'
import type { PlannedScenario } from './plan.ts'
import type { Role } from './requirements.ts'

/**
 * How the suite reaches the implementation under test for one role, started once per run:
 * the arguments that go after `conformance <subcommand>` for one scenario (besides
 * `--scenario` and `-o`), an optional attendant that watches the suite's output while the
 * scenario runs (the authorization-server role signs in through a browser there), and what
 * to stop afterwards.
 */
export interface RoleTarget {
  args(planned: PlannedScenario): Promise<readonly string[]>
  /** Rejects when the scenario could not be driven (the runner reports it as a failure). */
  attend?(suite: ChildProcess, planned: PlannedScenario): Promise<void>
  close(): Promise<void>
}

export type RoleTargets = Partial<Record<Role, (root: string) => Promise<RoleTarget>>>

/**
 * The suite's subcommand for a role; whether it takes `--timeout` and `--spec-version`; and
 * whether its scenarios are chained (one suite process runs them all, because a later
 * scenario reads an earlier one's result: the AS code grant uses the metadata scenario's).
 */
export const SUITE_COMMAND: Record<
  Role,
  { command: string; perScenarioOptions: boolean; chained: boolean }
> = {
  client: { command: 'client', perScenarioOptions: true, chained: false },
  server: { command: 'server', perScenarioOptions: true, chained: false },
  'authorization-server': { command: 'authorization', perScenarioOptions: false, chained: true },
}

/** The dev account `pnpm dev` seeds (ARCHITECTURE.md §6); the browser signs in with it. */
const DEV_ACCOUNT = { username: 'demo', password: 'demo-password' } as const

/** Resolves with the first stdout line `match` accepts; rejects if the process exits first. */
function waitForLine(child: ChildProcess, match: (line: string) => boolean): Promise<string> {
  return new Promise((resolve, reject) => {
    if (child.stdout === null) {
      reject(new Error('the process has no stdout pipe'))
      return
    }
    const lines = createInterface({ input: child.stdout })
    const onExit = (): void => reject(new Error('the process exited before it was ready'))
    lines.on('line', (line) => {
      if (!match(line)) return
      child.off('exit', onExit)
      // Keep draining so the pipe never fills and blocks the process.
      lines.removeAllListeners('line')
      lines.on('line', () => undefined)
      resolve(line)
    })
    child.once('exit', onExit)
  })
}

export const ROLE_TARGETS: RoleTargets = {
  client: (root) =>
    Promise.resolve({
      // The suite splits --command on spaces and runs it through a shell.
      args: () =>
        Promise.resolve([
          '--command',
          `${process.execPath} ${join(root, 'packages', 'sdk-client', 'scripts', 'conformance-client.ts')}`,
        ]),
      close: () => Promise.resolve(),
    }),

  // `pnpm conformance:server` (apps/conformance-server) with its shipped defaults, on a free
  // port so that a developer's own `pnpm conformance:server` on 4500 is left alone.
  server: async (root) => {
    const port = await freePort()
    const child = spawn(
      process.execPath,
      [join(root, 'apps', 'conformance-server', 'src', 'main.ts')],
      {
        cwd: root,
        env: { ...process.env, DAUTH_CONFORMANCE_PORT: String(port) },
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    )
    const line = await waitForLine(child, (l) => l.includes('"listening"'))
    const { url } = JSON.parse(line) as { url: string }
    return {
      args: () => Promise.resolve(['--url', url]),
      close: () => stopProcess(child),
    }
  },

  // The real stack (dev account seeded, open registration as under `pnpm dev`) on free ports.
  // Each scenario registers its own public PKCE client through DCR with its own loopback
  // callback port; when the suite prints the authorization URL, Chromium signs in through
  // the AS's real login and consent pages (never devInteractions).
  'authorization-server': async () => {
    const stateDir = await mkdtemp(join(tmpdir(), 'dauth-conformance-as-'))
    const stack = await startStack({ stateDir, ports: { as: 0, mcp: 0, enclave: 0, upstream: 0 } })
    const { chromiumAvailable, completeLoginAndConsent, launchTestBrowser } = await import(
      '@dauth/devkit/browser'
    )
    if (!chromiumAvailable()) {
      await stack.stop()
      throw new Error('the authorization-server role needs Chromium (apt-get install chromium)')
    }
    const callbacks = new Map<PlannedScenario, number>()
    return {
      args: async (planned) => {
        const port = await freePort()
        callbacks.set(planned, port)
        const registered = await fetch(`${stack.issuer}/oauth/register`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({
            client_name: `MCP conformance suite (${planned.scenario})`,
            redirect_uris: [`http://127.0.0.1:${port}/callback`],
            token_endpoint_auth_method: 'none',
            grant_types: ['authorization_code'],
            response_types: ['code'],
            // The suite's client sends no DPoP proofs.
            dpop_bound_access_tokens: false,
          }),
        })
        if (registered.status !== 201) {
          throw new Error(`dynamic registration answered ${registered.status}`)
        }
        const { client_id: clientId } = (await registered.json()) as { client_id: string }
        return [
          '--url',
          stack.issuer,
          '--client-id',
          clientId,
          '--resource',
          stack.mcpUrl,
          '--port',
          String(port),
        ]
      },
      attend: async (suite, planned) => {
        const prefix = `${stack.issuer}/oauth/authorize?`
        let url: string
        try {
          url = (await waitForLine(suite, (l) => l.trim().startsWith(prefix))).trim()
        } catch {
          return // The scenario needed no browser (e.g. the metadata scenario).
        }
        const browser = await launchTestBrowser()
        try {
          const landed = new URL(await completeLoginAndConsent(browser.page, url, DEV_ACCOUNT))
          const callback = `http://127.0.0.1:${callbacks.get(planned)}`
          if (landed.origin !== callback) {
            throw new Error(`the browser landed at ${landed.origin}, not the callback ${callback}`)
          }
          if (landed.searchParams.get('iss') !== stack.issuer) {
            throw new Error('the authorization response carries no RFC 9207 iss of this issuer')
          }
        } finally {
          await browser.close()
        }
      },
      close: async () => {
        await stack.stop()
        await rm(stateDir, { recursive: true, force: true })
      },
    }
  },
}
