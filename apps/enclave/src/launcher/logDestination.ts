import { pino } from 'pino'
import type { DestinationStream } from 'pino'

/**
 * The launcher's log destination: stdout, written synchronously (nothing is lost on a
 * crash or `process.exit`), but once per event-loop turn instead of once per line. The
 * launcher logs one line per dispatch; under concurrent dispatches several answers from the
 * worker arrive in one IPC read, and each line's own `write(2)` to the pipe was a
 * measurable part of the launcher's CPU per dispatch. Lines queued in one turn go out
 * together in that turn's check phase (`setImmediate`), in order; a lone line is not held
 * back, and an `exit` handler writes whatever is still queued.
 */
export interface TurnBatchedDestination extends DestinationStream {
  /** Writes the queued lines now. */
  flushSync(): void
}

/** Queued bytes that are written at once, mid-turn (sonic-boom caps this below its 16 KiB maxWrite). */
const MAX_QUEUED_BYTES = 8 * 1024

export function turnBatchedStdout(fd = 1): TurnBatchedDestination {
  // sonic-boom in sync mode: retries EAGAIN on a non-blocking pipe, handles partial writes.
  const out = pino.destination({ dest: fd, sync: true, minLength: MAX_QUEUED_BYTES })
  let scheduled = false
  const flushSync = (): void => {
    scheduled = false
    out.flushSync()
  }
  process.once('exit', flushSync)
  return {
    write(line: string): void {
      out.write(line)
      if (scheduled) return
      scheduled = true
      setImmediate(flushSync)
    },
    flushSync,
  }
}
