// Native-memory diagnostics of the enclave worker under sustained dispatch (issue #7 soak):
// a real launcher + worker (test hooks on), the stub AS and a loopback HTTPS upstream in this
// process, MEMORY_LOOPS dispatch loops. Every MEMORY_EVERY dispatches the worker is asked for
// a forced GC and then its `memory` hook (process.memoryUsage(), V8 malloc'ed memory, live
// handles, upstream pools); one JSON line each on stdout.
// MEMORY_MODE: `full` (token, proof, envelope from the AS, upstream call), `no-upstream`
// (the request names a host the binding does not allow: everything but the upstream call),
// `no-as` (the handle is not in the token: refused before the envelope read).
// Run: pnpm --filter @dauth/enclave exec node bench/memory.ts
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Agent, request } from 'undici'
import { createDpopProof } from '@dauth/protocol'
import { addConnection, attestedKey, dispatchToken, makeCaller } from '../test/fixtures/client.ts'
import { spawnEnclave } from '../test/fixtures/enclaveProcess.ts'
import { makeTestPki } from '../test/fixtures/pki.ts'
import { makeEnclaveClientKey, startStubAs } from '../test/fixtures/stubAs.ts'
import { startTestUpstream } from '../test/fixtures/upstream.ts'

const MODE = process.env.MEMORY_MODE ?? 'full'
const TOTAL = Number(process.env.MEMORY_DISPATCHES ?? 6000)
const EVERY = Number(process.env.MEMORY_EVERY ?? 500)
const LOOPS = Number(process.env.MEMORY_LOOPS ?? 3)
const extraEnv = JSON.parse(process.env.MEMORY_ENCLAVE_ENV ?? '{}') as Record<string, string>

const dir = mkdtempSync(join(tmpdir(), 'enclave-memory-'))
const pki = makeTestPki(dir)
const upstream = await startTestUpstream(
  { certPem: pki.certPem, keyPem: pki.keyPem },
  { record: false },
)
const clientKey = await makeEnclaveClientKey()
const as = await startStubAs(clientKey)
const stateDir = join(dir, 'state')
const keyFile = join(dir, 'enclave.jwk.json')
writeFileSync(keyFile, JSON.stringify(clientKey.privateJwk), { mode: 0o600 })
const enclave = await spawnEnclave(
  {
    DAUTH_STATE_DIR: stateDir,
    DAUTH_ISSUER: as.issuer,
    DAUTH_ENCLAVE_CLIENT_KEY_FILE: keyFile,
    DAUTH_ENCLAVE_DEV_UPSTREAMS: '1',
    DAUTH_ENCLAVE_EXTRA_CA: pki.caFile,
    DAUTH_ENCLAVE_TEST_HOOKS: '1',
    ...extraEnv,
  },
  { keepOutput: false },
)
const caller = await makeCaller(as, enclave.url, enclave.enclaveUrl)
const record = addConnection(as, {
  sub: 'alice',
  secret: new TextEncoder().encode(`mem_${randomBytes(24).toString('base64url')}`),
  inject: { type: 'bearer' },
  allowedHosts: [upstream.host],
  recipient: await attestedKey(enclave.url, stateDir),
})
const now = Math.floor(Date.now() / 1000)
const connections = MODE === 'no-as' ? { demo: 'h_elsewhere' } : { demo: record.handle }
const token = await dispatchToken(caller, 'alice', connections, { exp: now + 3600 })
const body = JSON.stringify({
  handle: record.handle,
  request: {
    method: 'GET',
    path: '/user',
    ...(MODE === 'no-upstream' ? { host: 'localhost:1' } : {}),
    headers: { accept: 'application/json' },
  },
})
const expected = MODE === 'full' ? 200 : MODE === 'no-upstream' ? 403 : 404
const agent = new Agent({ connections: LOOPS })

async function hook(name: string): Promise<Record<string, number>> {
  const res = await fetch(`${enclave.url}/__test/${name}`, { method: 'POST' })
  return (await res.json()) as Record<string, number>
}

async function sample(done: number): Promise<void> {
  await hook('gc')
  const m = await hook('memory')
  const mib = (n: number | undefined) => Math.round(((n ?? 0) / 1048576) * 10) / 10
  const resources = Object.entries(m)
    .filter(([k]) => k.startsWith('resource'))
    .map(([k, v]) => `${k.slice(8)}=${v}`)
    .join(',')
  const spaces = Object.entries(m)
    .filter(([k]) => k.startsWith('space_'))
    .map(
      ([k, v]) =>
        `${k.slice(6).replace('_space', '')}=${mib(v)}/${mib(m[`spaceUsed_${k.slice(6)}`])}`,
    )
    .join(' ')
  process.stdout.write(
    `${JSON.stringify({ done, spaces, rss: mib(m.rss), heapTotal: mib(m.heapTotal), heapUsed: mib(m.heapUsed), external: mib(m.external), arrayBuffers: mib(m.arrayBuffers), malloced: mib(m.mallocedMemory), agents: m.upstreamAgents, resources })}\n`,
  )
}

let next = 0
let seenStatus = ''
const started = Date.now()
try {
  await sample(0)
  let nextSample = EVERY
  let sampling: Promise<void> = Promise.resolve()
  await Promise.all(
    Array.from({ length: LOOPS }, async () => {
      while (next < TOTAL) {
        next++
        const proof = await createDpopProof(caller.key, {
          htm: 'POST',
          htu: `${enclave.enclaveUrl}/dispatch`,
          accessToken: token,
        })
        const res = await request(`${enclave.url}/dispatch`, {
          method: 'POST',
          headers: {
            authorization: `DPoP ${token}`,
            dpop: proof,
            'content-type': 'application/json',
          },
          body,
          dispatcher: agent,
        })
        const text = await res.body.text()
        if (res.statusCode !== expected) throw new Error(`dispatch ${res.statusCode} ${text}`)
        if (!seenStatus) seenStatus = text.slice(0, 120)
        if (next >= nextSample) {
          nextSample += EVERY
          const at = next
          sampling = sampling.then(() => sample(at))
          await sampling
        }
      }
    }),
  )
  await sampling
  process.stderr.write(
    `${MODE}: ${TOTAL} dispatches in ${Math.round((Date.now() - started) / 1000)} s; first answer ${seenStatus}\n`,
  )
} finally {
  await agent.close()
  await enclave.stop()
  await as.close()
  await upstream.close()
  rmSync(dir, { recursive: true, force: true })
}
