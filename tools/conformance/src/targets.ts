import { join } from 'node:path'
import type { Role } from './requirements.ts'

/**
 * How the suite reaches the implementation under test for one role: the arguments that go
 * after `conformance <role>` (besides `--scenario` etc.), and what to stop afterwards.
 * The client role passes a command the suite spawns per scenario; server and
 * authorization-server roles will start the app first and pass `--url <url>`.
 */
export interface RoleTarget {
  readonly args: readonly string[]
  close(): Promise<void>
}

export type RoleTargets = Partial<Record<Role, (root: string) => Promise<RoleTarget>>>

export const ROLE_TARGETS: RoleTargets = {
  client: (root) =>
    Promise.resolve({
      // The suite splits --command on spaces and runs it through a shell.
      args: [
        '--command',
        `${process.execPath} ${join(root, 'packages', 'sdk-client', 'scripts', 'conformance-client.ts')}`,
      ],
      close: () => Promise.resolve(),
    }),
}
