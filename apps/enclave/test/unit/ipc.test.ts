/**
 * IPC batching between launcher and worker: the messages of one event-loop turn leave as one
 * write (a lone message as itself), the receiver unwraps them in order, and a closed outbox
 * (its worker exited) drops what was queued so a respawned worker never gets it.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { MessageBatcher, unbatch } from '../../src/ipc.ts'
import type { MessageBatch } from '../../src/ipc.ts'

type Msg = { type: 'm'; n: number }
const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve))

function recorder(): { writes: (Msg | MessageBatch<Msg>)[]; batcher: MessageBatcher<Msg> } {
  const writes: (Msg | MessageBatch<Msg>)[] = []
  return { writes, batcher: new MessageBatcher<Msg>((message) => writes.push(message)) }
}

describe('MessageBatcher', () => {
  it('writes the messages of one turn as one batch, in order', async () => {
    const { writes, batcher } = recorder()
    batcher.send({ type: 'm', n: 1 })
    batcher.send({ type: 'm', n: 2 })
    await Promise.resolve()
    batcher.send({ type: 'm', n: 3 })
    assert.equal(writes.length, 0)
    await nextTurn()
    assert.deepEqual(writes, [
      {
        type: 'batch',
        messages: [
          { type: 'm', n: 1 },
          { type: 'm', n: 2 },
          { type: 'm', n: 3 },
        ],
      },
    ])
    assert.deepEqual(
      unbatch(writes[0] as MessageBatch<Msg>).map((m) => m.n),
      [1, 2, 3],
    )
  })

  it('writes a lone message as itself, and a later turn separately', async () => {
    const { writes, batcher } = recorder()
    batcher.send({ type: 'm', n: 1 })
    await nextTurn()
    batcher.send({ type: 'm', n: 2 })
    await nextTurn()
    assert.deepEqual(writes, [
      { type: 'm', n: 1 },
      { type: 'm', n: 2 },
    ])
    assert.deepEqual(unbatch(writes[1] as Msg), [{ type: 'm', n: 2 }])
  })

  it('drops queued messages once closed and accepts no more', async () => {
    const { writes, batcher } = recorder()
    batcher.send({ type: 'm', n: 1 })
    batcher.close()
    batcher.send({ type: 'm', n: 2 })
    await nextTurn()
    assert.deepEqual(writes, [])
  })
})
