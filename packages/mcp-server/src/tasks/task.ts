/**
 * The tasks extension (`io.modelcontextprotocol/tasks`, SEP-2663) as tool authors see it: a
 * tool declared with `taskSupport` returns `runAsTask(work)`, and the server decides how `work`
 * runs — in the background as a task when the request negotiated the extension, inline (a plain
 * result) otherwise.
 *
 * @module
 */
import type { ToolReturn } from '../tools/tool.ts'

/** The extension identifier (`capabilities.extensions` key). */
export const TASKS_EXTENSION_ID = 'io.modelcontextprotocol/tasks'

/**
 * Whether a tool runs as a task: `optional` — as a task when the client negotiated the
 * extension, else synchronously; `required` — only as a task (a client without the extension
 * gets `-32021` MissingRequiredClientCapability).
 */
export type TaskSupport = 'optional' | 'required'

/** Options of {@link runAsTask}. */
export interface RunAsTaskOptions {
  /** Shown as the task's `statusMessage` while it works. */
  statusMessage?: string
}

const TASK_WORK = Symbol('dauth.taskWork')

/** What {@link runAsTask} returns (opaque). */
export interface TaskWork {
  readonly [TASK_WORK]: true
  readonly work: () => ToolReturn | Promise<ToolReturn>
  readonly options: RunAsTaskOptions
}

/**
 * Escalate a tool call to a task. `work` runs after the `tools/call` answered (with the task's
 * `CreateTaskResult`); inside it `getContext()` has the caller, `signal` (aborted by
 * `tasks/cancel` or expiry) and `inputResponses`. Returning `inputRequired(...)` from `work`
 * parks the task in `input_required`; once `tasks/update` answered every request, `work` runs
 * again with all the answers. A returned tool error (`isError`) or a thrown `Error` completes
 * the task with `isError: true`; a thrown SDK `ProtocolError` fails it (`status: "failed"`).
 * Without a negotiated extension (optional support) `work` runs inline and its result is the
 * call's result.
 *
 * @example
 * ```ts
 * tool({ description: 'Export', taskSupport: 'optional' }, () =>
 *   runAsTask(async () => exportEverything(getContext().signal)))
 * ```
 */
export function runAsTask(
  work: () => ToolReturn | Promise<ToolReturn>,
  options: RunAsTaskOptions = {},
): TaskWork {
  return { [TASK_WORK]: true, work, options }
}

/** Whether a handler's return value is a {@link runAsTask} escalation. */
export function isTaskWork(value: unknown): value is TaskWork {
  return typeof value === 'object' && value !== null && TASK_WORK in value
}
