/**
 * A bounded in-memory SSE event store (resumability, SEP-1699), one per MCP session so that a
 * `Last-Event-ID` never replays another session's messages.
 *
 * @module
 */
import type { EventStore, JSONRPCMessage, StreamId } from '@modelcontextprotocol/server'

/** In-memory {@link EventStore}; the oldest events are dropped past `maxEvents`. */
export class MemoryEventStore implements EventStore {
  readonly #events = new Map<string, { streamId: StreamId; message: JSONRPCMessage }>()
  readonly #maxEvents: number
  #counter = 0

  constructor(maxEvents = 1000) {
    this.#maxEvents = maxEvents
  }

  storeEvent(streamId: StreamId, message: JSONRPCMessage): Promise<string> {
    this.#counter += 1
    const eventId = `${streamId}_${this.#counter}`
    this.#events.set(eventId, { streamId, message })
    if (this.#events.size > this.#maxEvents) {
      const oldest = this.#events.keys().next().value
      if (oldest !== undefined) this.#events.delete(oldest)
    }
    return Promise.resolve(eventId)
  }

  getStreamIdForEventId(eventId: string): Promise<StreamId | undefined> {
    return Promise.resolve(this.#events.get(eventId)?.streamId)
  }

  async replayEventsAfter(
    lastEventId: string,
    { send }: { send: (eventId: string, message: JSONRPCMessage) => Promise<void> },
  ): Promise<StreamId> {
    const last = this.#events.get(lastEventId)
    if (!last) return ''
    let after = false
    for (const [eventId, event] of this.#events) {
      if (eventId === lastEventId) after = true
      else if (after && event.streamId === last.streamId) await send(eventId, event.message)
    }
    return last.streamId
  }
}
