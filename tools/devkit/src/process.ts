// Runs a Node script the way an operator would, for tests of entry points and CLIs: a child
// process with only the environment given (plus PATH), optional standard input, and its exit
// code and output collected.
import { type ChildProcess, spawn } from 'node:child_process'

/** What a script run printed and how it ended. */
export interface ScriptRun {
  /** Exit code; `null` when a signal ended it. */
  code: number | null
  stdout: string
  stderr: string
}

/**
 * Runs `script` with this process's Node. Nothing of the parent's environment leaks in but
 * `PATH`, so a test sees exactly the configuration it sets.
 */
export function runNodeScript(
  script: string,
  options: { env?: Record<string, string>; args?: readonly string[]; input?: string } = {},
): Promise<ScriptRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, ...(options.args ?? [])], {
      env: { PATH: process.env.PATH ?? '', ...options.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()))
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
    child.on('error', reject)
    child.on('close', (code) => resolve({ code, stdout, stderr }))
    child.stdin.end(options.input ?? '')
  })
}

/** Stops a child: SIGTERM, then SIGKILL if it has not exited after 5 s; resolves on exit. */
export async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  child.kill('SIGTERM')
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000)
  await exited
  clearTimeout(timer)
}
