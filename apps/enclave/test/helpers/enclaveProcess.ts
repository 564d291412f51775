import { spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { resolve } from 'node:path'

/**
 * Runs `src/main.ts` as a real process (exactly how `pnpm dev` and the e2e harness start it),
 * capturing stdout and stderr of the launcher and, inherited, of the worker.
 */
export interface EnclaveProcess {
  url: string
  enclaveUrl: string
  child: ChildProcess
  output(): string
  stop(): Promise<number | null>
}

const MAIN = resolve(import.meta.dirname, '../../src/main.ts')

export async function spawnEnclave(env: Record<string, string>): Promise<EnclaveProcess> {
  const child = spawn(process.execPath, [MAIN], {
    env: { PATH: process.env.PATH ?? '', DAUTH_ENCLAVE_PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let out = ''
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString('utf8')
  })
  child.stderr.on('data', (d: Buffer) => {
    out += d.toString('utf8')
  })
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)))
  const listening = await new Promise<{ url: string; enclave_url: string }>((ok, fail) => {
    const timer = setTimeout(() => fail(new Error(`enclave did not start:\n${out}`)), 60_000)
    const onData = (): void => {
      for (const line of out.split('\n')) {
        if (!line.includes('"msg":"listening"')) continue
        clearTimeout(timer)
        child.stdout.off('data', onData)
        ok(JSON.parse(line) as { url: string; enclave_url: string })
        return
      }
    }
    child.stdout.on('data', onData)
    void exited.then(() => fail(new Error(`enclave exited:\n${out}`)))
  })
  // readiness exactly as the harness polls it
  for (let i = 0; i < 300; i++) {
    const res = await fetch(`${listening.url}/healthz`).catch(() => undefined)
    if (res?.status === 200) break
    await new Promise((r) => setTimeout(r, 100))
  }
  return {
    url: listening.url,
    enclaveUrl: listening.enclave_url,
    child,
    output: () => out,
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGTERM')
      return exited
    },
  }
}
