import { writeSync } from 'node:fs'
import type { DestinationStream } from 'pino'

/**
 * The launcher's log destination: stdout, written synchronously (nothing is lost on a
 * crash or `process.exit`), but once per event-loop turn instead of once per line. The
 * launcher logs one line per dispatch; under concurrent dispatches several answers from the
 * worker arrive in one IPC read, and each line's own `write(2)` to the pipe was a
 * measurable part of the launcher's CPU per dispatch. Lines queued in one turn go out
 * together in that turn's check phase (`setImmediate`), in order; a lone line is not held
 * back, and an `exit` handler writes whatever is still queued.
 *
 * Written with `fs.writeSync` directly rather than through sonic-boom, whose `flushSync`
 * adds an `fsync` per call and retries a closed pipe forever. Like pino's own stdout
 * destination, a closed pipe (EPIPE) ends logging instead of failing the launcher.
 */
export interface TurnBatchedDestination extends DestinationStream {
  /** Writes the queued lines now. */
  flushSync(): void
}

/** Queued bytes that are written at once, mid-turn. */
const MAX_QUEUED_CHARS = 64 * 1024
const EAGAIN_PAUSE_MS = 1
const pause = new Int32Array(new SharedArrayBuffer(4))

export function turnBatchedStdout(fd = 1): TurnBatchedDestination {
  let queue: string[] = []
  let queued = 0
  let scheduled = false
  let broken = false

  const writeAll = (text: string): void => {
    let bytes = Buffer.from(text, 'utf8')
    while (bytes.length > 0 && !broken) {
      try {
        bytes = bytes.subarray(writeSync(fd, bytes))
      } catch (error) {
        const code = (error as { code?: string }).code
        if (code === 'EAGAIN') {
          // a non-blocking pipe that is full: wait for the reader, as sonic-boom does
          Atomics.wait(pause, 0, 0, EAGAIN_PAUSE_MS)
          continue
        }
        if (code === 'EPIPE') {
          broken = true
          return
        }
        throw error
      }
    }
  }

  const flushSync = (): void => {
    scheduled = false
    if (queue.length === 0) return
    const text = queue.join('')
    queue = []
    queued = 0
    writeAll(text)
  }
  process.once('exit', flushSync)

  return {
    write(line: string): void {
      if (broken) return
      queue.push(line)
      queued += line.length
      if (queued >= MAX_QUEUED_CHARS) {
        flushSync()
        return
      }
      if (scheduled) return
      scheduled = true
      setImmediate(flushSync)
    },
    flushSync,
  }
}
