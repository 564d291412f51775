import { readFileSync } from 'node:fs'
import type { ClientMetadata } from 'oidc-provider'

/** Parses `clients.json`: an array of oidc-provider client metadata (or `{"clients":[…]}`). */
export function parseClients(json: unknown): ClientMetadata[] {
  const list: unknown = Array.isArray(json) ? json : (json as { clients?: unknown } | null)?.clients
  if (!Array.isArray(list)) throw new TypeError('clients: expected an array of client metadata')
  return list.map((entry: unknown, index) => {
    if (
      typeof entry !== 'object' ||
      entry === null ||
      typeof (entry as { client_id?: unknown }).client_id !== 'string'
    ) {
      throw new TypeError(`clients[${index}] must be an object with a client_id`)
    }
    return entry as ClientMetadata
  })
}

export function loadClientsFile(path: string): ClientMetadata[] {
  return parseClients(JSON.parse(readFileSync(path, 'utf8')))
}
