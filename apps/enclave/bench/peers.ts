// The enclave's peers for the benchmark, in their OWN process (so neither the direct path
// nor the enclave path shares an event loop with the load generator): the loopback HTTPS
// upstream and the stub AS of the tests (test/fixtures). Started by dispatch.bench.ts with
// an IPC channel: it answers `ready`, stores envelope records, and signs dispatch tokens.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { StoredRecord } from '../test/fixtures/stubAs.ts'
import { makeEnclaveClientKey, startStubAs } from '../test/fixtures/stubAs.ts'
import { startTestUpstream } from '../test/fixtures/upstream.ts'

export type ToPeers =
  | { type: 'record'; record: StoredRecord }
  | { type: 'sign'; id: number; claims: Record<string, unknown> }
export type FromPeers =
  | { type: 'ready'; upstreamHost: string; issuer: string; clientJwk: JsonWebKey }
  | { type: 'signed'; id: number; token: string }

const dir = process.argv[2] ?? ''
const upstream = await startTestUpstream(
  {
    certPem: readFileSync(join(dir, 'leaf.pem'), 'utf8'),
    keyPem: readFileSync(join(dir, 'leaf.key'), 'utf8'),
  },
  { record: false },
)
const clientKey = await makeEnclaveClientKey()
const as = await startStubAs(clientKey)
const send = (message: FromPeers): void => {
  process.send?.(message)
}
process.on('message', (message: ToPeers) => {
  if (message.type === 'record') as.records.set(message.record.handle, message.record)
  else
    void as
      .signToken(message.claims)
      .then((token) => send({ type: 'signed', id: message.id, token }))
})
process.on('disconnect', () => {
  void Promise.all([as.close(), upstream.close()]).then(() => process.exit(0))
})
send({
  type: 'ready',
  upstreamHost: upstream.host,
  issuer: as.issuer,
  clientJwk: clientKey.privateJwk,
})
