import { randomBytes, randomUUID } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import {
  base64url,
  createDpopProof,
  generateDpopKeyPair,
  sealCredential,
  verifyAttestation,
} from '@dauth/protocol'
import type {
  CredentialBinding,
  CredentialEnvelope,
  CredentialInjection,
  DpopKeyPair,
} from '@dauth/protocol'
import type { StoredRecord, StubAs } from './stubAs.ts'

/** What an MCP server does against the enclave: verify attestation, seal, dispatch with DPoP. */
export interface Caller {
  key: DpopKeyPair
  as: StubAs
  enclaveUrl: string
  url: string
}

export async function makeCaller(as: StubAs, url: string, enclaveUrl: string): Promise<Caller> {
  return { key: await generateDpopKeyPair('ES256'), as, url, enclaveUrl }
}

export async function attestedKey(
  url: string,
  stateDir: string,
): Promise<{ kid: string; publicKey: Uint8Array }> {
  const pins = JSON.parse(readFileSync(join(stateDir, 'attestation.json'), 'utf8')) as {
    platform_jwk: JsonWebKey
    measurements: string[]
  }
  const nonce = base64url.encode(randomBytes(16))
  const res = await fetch(`${url}/attestation?nonce=${nonce}`)
  const { attestation } = (await res.json()) as { attestation: string }
  const doc = await verifyAttestation(attestation, {
    platformJwk: pins.platform_jwk,
    measurements: pins.measurements,
    nonce,
  })
  return { kid: doc.kid, publicKey: doc.enclavePublicKey }
}

export interface NewConnection {
  sub: string
  secret: Uint8Array
  inject: CredentialInjection
  allowedHosts: string[]
  /** overrides of the sealed binding (to build mismatching plaintexts) */
  binding?: Partial<CredentialBinding>
  recipient: { kid: string; publicKey: Uint8Array }
}

export function addConnection(as: StubAs, c: NewConnection): StoredRecord {
  const connection_id = `conn_${randomUUID()}`
  const upload_nonce = base64url.encode(randomBytes(16))
  const binding: CredentialBinding = {
    v: 1,
    connection_id,
    upload_nonce,
    owner: { iss: as.issuer, sub: c.sub },
    provider: 'test',
    allowed_hosts: c.allowedHosts,
    inject: c.inject,
    ...c.binding,
  }
  const envelope: CredentialEnvelope = sealCredential(
    binding,
    new Uint8Array(c.secret),
    c.recipient,
  )
  const record: StoredRecord = {
    handle: `h_${base64url.encode(randomBytes(18))}`,
    connection_id,
    name: 'demo',
    provider: 'test',
    owner: { iss: as.issuer, sub: c.sub },
    upload_nonce,
    envelope,
  }
  as.records.set(record.handle, record)
  return record
}

export async function dispatchToken(
  caller: Caller,
  sub: string,
  connections: Record<string, string>,
  overrides: Record<string, unknown> = {},
): Promise<string> {
  const now = Math.floor(Date.now() / 1000)
  return caller.as.signToken({
    iss: caller.as.issuer,
    sub,
    aud: caller.enclaveUrl,
    iat: now,
    exp: now + 60,
    jti: randomUUID(),
    client_id: 'dauth-example-mcp',
    act: { sub: 'dauth-example-mcp' },
    connections,
    cnf: { jkt: caller.key.jkt },
    ...overrides,
  })
}

export interface DispatchAnswer {
  status: number
  headers: Headers
  json: Record<string, unknown>
  text: string
}

export async function dispatch(
  caller: Caller,
  token: string,
  body: unknown,
  options: { proof?: string; htu?: string; headers?: Record<string, string> } = {},
): Promise<DispatchAnswer> {
  const proof =
    options.proof ??
    (await createDpopProof(caller.key, {
      htm: 'POST',
      htu: options.htu ?? `${caller.enclaveUrl}/dispatch`,
      accessToken: token,
    }))
  const res = await fetch(`${caller.url}/dispatch`, {
    method: 'POST',
    headers: {
      authorization: `DPoP ${token}`,
      dpop: proof,
      'content-type': 'application/json',
      ...options.headers,
    },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  })
  const text = await res.text()
  let json: Record<string, unknown> = {}
  try {
    json = JSON.parse(text) as Record<string, unknown>
  } catch {
    json = {}
  }
  return { status: res.status, headers: res.headers, json, text }
}
