/**
 * The launcher's stdout log destination writes the lines of one event-loop turn together,
 * but loses none: lines queued right before `process.exit`, lines of later turns and lines
 * larger than its queue all reach stdout, in order; a closed stdout ends logging, not the
 * process.
 */
import assert from 'node:assert/strict'
import { spawn, spawnSync } from 'node:child_process'
import { resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { describe, it } from 'node:test'

const MODULE = pathToFileURL(resolve(import.meta.dirname, '../../src/launcher/logDestination.ts'))

function run(script: string): { stdout: string; status: number | null } {
  const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
    encoding: 'utf8',
    cwd: resolve(import.meta.dirname, '../..'),
  })
  return { stdout: child.stdout, status: child.status }
}

describe('turnBatchedStdout', () => {
  it('writes every line in order, including those queued just before process.exit', () => {
    const { stdout, status } = run(`
      import { pino } from 'pino'
      import { turnBatchedStdout } from '${MODULE.href}'
      const logger = pino({ base: null, timestamp: false }, turnBatchedStdout())
      logger.info({ msg: 'a' })
      logger.info({ msg: 'b' })
      setTimeout(() => {
        logger.info({ msg: 'c' })
        logger.warn({ msg: 'd' })
        process.exit(3)
      }, 10)
    `)
    assert.equal(status, 3)
    assert.deepEqual(
      stdout
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as unknown),
      [
        { level: 30, msg: 'a' },
        { level: 30, msg: 'b' },
        { level: 30, msg: 'c' },
        { level: 40, msg: 'd' },
      ],
    )
  })

  it('writes one turn in one go and does not hold a later turn back', () => {
    const { stdout, status } = run(`
      import { writeSync } from 'node:fs'
      import { turnBatchedStdout } from '${MODULE.href}'
      const out = turnBatchedStdout()
      out.write('1\\n')
      out.write('2\\n')
      // a marker written around the destination shows when the queued lines went out
      writeSync(1, 'sync-marker\\n')
      setTimeout(() => {
        out.write('3\\n')
        setTimeout(() => writeSync(1, 'after-turn\\n'), 5)
      }, 5)
    `)
    assert.equal(status, 0)
    assert.equal(stdout, 'sync-marker\n1\n2\n3\nafter-turn\n')
  })

  it('writes a turn larger than its queue whole and in order', () => {
    const { stdout, status } = run(`
      import { turnBatchedStdout } from '${MODULE.href}'
      const out = turnBatchedStdout()
      for (let i = 0; i < 3000; i++) out.write(String(i).padStart(60, '.') + '\\n')
    `)
    assert.equal(status, 0)
    const lines = stdout.trim().split('\n')
    assert.equal(lines.length, 3000)
    assert.deepEqual(
      lines.map((line) => Number(line.replace(/^\.+/, ''))),
      Array.from({ length: 3000 }, (_, i) => i),
    )
  })

  it('stops logging when stdout is closed (EPIPE) and the process carries on', async () => {
    const child = spawn(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `
        import { turnBatchedStdout } from '${MODULE.href}'
        const out = turnBatchedStdout()
        let turns = 0
        const tick = () => {
          out.write('x'.repeat(1000) + '\\n')
          if (++turns < 200) setTimeout(tick, 2)
          else process.stderr.write('carried on')
        }
        tick()
      `,
      ],
      { cwd: resolve(import.meta.dirname, '../..'), stdio: ['ignore', 'pipe', 'pipe'] },
    )
    child.stdout.destroy()
    let stderr = ''
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8')
    })
    const status = await new Promise<number | null>((ok) => child.once('exit', ok))
    assert.equal(stderr, 'carried on')
    assert.equal(status, 0)
  })
})
