import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { createServer } from 'node:net'
import { join } from 'node:path'

export async function freePort(): Promise<number> {
  const server = createServer()
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as { port: number }
  server.close()
  await once(server, 'close')
  return port
}

/** An AS started as its own OS process through src/main.ts. */
export interface AsProcess {
  /** Where this process listens (may differ from the shared issuer). */
  base: string
  stop(): Promise<number | null>
}

/** Spawns `node src/main.ts` with `env`; resolves once it logged "listening". */
export async function spawnAs(env: Record<string, string>): Promise<AsProcess> {
  const child = spawn(process.execPath, [join(import.meta.dirname, '../../src/main.ts')], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString()
  })
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString()
  })
  const exited = once(child, 'exit')
  // Wait for the log line, not for time.
  while (!stdout.includes('"msg":"listening"')) {
    if (child.exitCode !== null) throw new Error(`AS exited early: ${stdout} ${stderr}`)
    await Promise.race([once(child.stdout, 'data'), exited])
  }
  return {
    base: `http://127.0.0.1:${env.DAUTH_AS_PORT}`,
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGTERM')
      const [code] = (await exited) as [number | null]
      return code
    },
  }
}
