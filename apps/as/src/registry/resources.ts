import { readFileSync } from 'node:fs'

/** One entry of the resource registry (wire.md "Resource registry"). */
export interface ResourceDefinition {
  resource: string
  scopes: string[]
  connections: string[]
  accessTokenTtl: number
  /** Client ids allowed to exchange tokens issued for this resource (RFC 8693 dispatch). */
  dispatchClients: string[]
  /** When set, only these client ids may obtain tokens for the resource. */
  clients?: string[]
}

export const DEFAULT_ACCESS_TOKEN_TTL = 300
const NAME = /^[a-z0-9][a-z0-9_-]{0,62}$/
const SCOPE = /^[\x21\x23-\x5b\x5d-\x7e]+$/

function stringArray(value: unknown, what: string): string[] {
  if (value === undefined) return []
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) {
    throw new TypeError(`resources: ${what} must be an array of strings`)
  }
  return value
}

/** Parses and validates `resources.json` (`{"resources":[…]}` or a bare array). */
export function parseResources(json: unknown): ResourceDefinition[] {
  const list: unknown = Array.isArray(json)
    ? json
    : (json as { resources?: unknown } | null)?.resources
  if (!Array.isArray(list)) throw new TypeError('resources: expected {"resources": [...]}')
  return list.map((entry: unknown, index) => {
    if (typeof entry !== 'object' || entry === null)
      throw new TypeError(`resources[${index}] must be an object`)
    const e = entry as Record<string, unknown>
    if (typeof e.resource !== 'string')
      throw new TypeError(`resources[${index}].resource must be a string`)
    const url = URL.parse(e.resource)
    if (!url || url.hash || url.search)
      throw new TypeError(
        `resources[${index}].resource must be an absolute URL without query or fragment`,
      )
    const scopes = stringArray(e.scopes, `resources[${index}].scopes`)
    if (!scopes.every((s) => SCOPE.test(s)))
      throw new TypeError(`resources[${index}].scopes has an invalid scope`)
    const connections = stringArray(e.connections, `resources[${index}].connections`)
    if (!connections.every((n) => NAME.test(n)))
      throw new TypeError(`resources[${index}].connections has an invalid name`)
    const ttl = e.accessTokenTtl ?? DEFAULT_ACCESS_TOKEN_TTL
    if (typeof ttl !== 'number' || !Number.isInteger(ttl) || ttl <= 0 || ttl > 86400) {
      throw new TypeError(`resources[${index}].accessTokenTtl must be an integer in 1..86400`)
    }
    const definition: ResourceDefinition = {
      resource: e.resource,
      scopes,
      connections,
      accessTokenTtl: ttl,
      dispatchClients: stringArray(e.dispatchClients, `resources[${index}].dispatchClients`),
    }
    if (e.clients !== undefined)
      definition.clients = stringArray(e.clients, `resources[${index}].clients`)
    return definition
  })
}

export function loadResourcesFile(path: string): ResourceDefinition[] {
  return parseResources(JSON.parse(readFileSync(path, 'utf8')))
}

export const ENCLAVE_CLIENT_ID = 'dauth-enclave'
export const CONNECTIONS_SCOPES = ['connections:read', 'connections:write'] as const
export const ENVELOPES_SCOPE = 'envelopes:read'

export function connectionsResource(issuer: string): string {
  return `${issuer}/connections`
}

export function enclaveResource(issuer: string): string {
  return `${issuer}/enclave`
}

/** The registry the AS serves: configured resources plus its two internal ones. */
export class ResourceRegistry {
  readonly #byResource = new Map<string, ResourceDefinition>()

  constructor(issuer: string, configured: readonly ResourceDefinition[]) {
    for (const def of configured) this.#byResource.set(def.resource, def)
    const connections = connectionsResource(issuer)
    if (!this.#byResource.has(connections)) {
      this.#byResource.set(connections, {
        resource: connections,
        scopes: [...CONNECTIONS_SCOPES],
        connections: [],
        accessTokenTtl: DEFAULT_ACCESS_TOKEN_TTL,
        dispatchClients: [],
      })
    }
    this.#byResource.set(enclaveResource(issuer), {
      resource: enclaveResource(issuer),
      scopes: [ENVELOPES_SCOPE],
      connections: [],
      accessTokenTtl: 60,
      dispatchClients: [],
      clients: [ENCLAVE_CLIENT_ID],
    })
  }

  get(resource: string): ResourceDefinition | undefined {
    return this.#byResource.get(resource)
  }

  all(): ResourceDefinition[] {
    return [...this.#byResource.values()]
  }

  /** Every scope any resource accepts (advertised in metadata). */
  allScopes(): string[] {
    return [...new Set(this.all().flatMap((r) => r.scopes))]
  }
}
