// Per-request verification cost: authorize() (access token + DPoP proof) against two raw
// node:crypto ES256 verifies on cached KeyObjects, measured in the same run — with the default
// (signatures checked on libuv's thread pool) and with `offloadSignatures: false` (in place,
// like the floor itself).
// Run: pnpm --filter @dauth/mcp-server bench
import { createPublicKey, generateKeyPairSync, randomUUID, sign, verify } from 'node:crypto'
import { performance } from 'node:perf_hooks'
import { createDpopProof, generateDpopKeyPair } from '@dauth/protocol'
import { MCPServer } from '../src/index.ts'

const N = Number(process.env.BENCH_N ?? 4000)
const ISSUER = 'https://as.bench.example'
const RESOURCE = 'https://mcp.bench.example/mcp'

const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
const jwk = { ...publicKey.export({ format: 'jwk' }), kid: 'k1', alg: 'ES256', use: 'sig' }
const fakeFetch: typeof fetch = (input) => {
  const url = input instanceof Request ? input.url : input.toString()
  if (url.endsWith('/.well-known/oauth-authorization-server')) {
    return Promise.resolve(Response.json({ issuer: ISSUER, jwks_uri: `${ISSUER}/jwks` }))
  }
  return Promise.resolve(Response.json({ keys: [jwk] }))
}

function jws(header: object, payload: object): string {
  const input = `${Buffer.from(JSON.stringify(header)).toString('base64url')}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}`
  return `${input}.${sign('sha256', Buffer.from(input), { key: privateKey, dsaEncoding: 'ieee-p1363' }).toString('base64url')}`
}

const dpop = await generateDpopKeyPair('ES256')
const now = Math.floor(Date.now() / 1000)
function mint(): string {
  return jws(
    { alg: 'ES256', typ: 'at+jwt', kid: 'k1' },
    {
      iss: ISSUER,
      sub: 'u',
      aud: RESOURCE,
      iat: now,
      exp: now + 3600,
      jti: randomUUID(),
      scope: 'read',
      cnf: { jkt: dpop.jkt },
    },
  )
}

const server = new MCPServer('bench', {
  resourceUrl: RESOURCE,
  authorization: { authorizationServers: [ISSUER], fetch: fakeFetch },
})
const inPlace = new MCPServer('bench-in-place', {
  resourceUrl: RESOURCE,
  authorization: { authorizationServers: [ISSUER], fetch: fakeFetch, offloadSignatures: false },
})

async function prepare(tokens: string[]): Promise<{ token: string; proof: string }[]> {
  return Promise.all(
    tokens.map(async (token) => ({
      token,
      proof: await createDpopProof(dpop, { htm: 'POST', htu: RESOURCE, accessToken: token }),
    })),
  )
}

/** Wall µs per request, and CPU µs per request over every thread (the pool's included). */
interface Timing {
  wall: number
  cpu: number
}
const cpuNow = (): number => {
  const { user, system } = process.cpuUsage()
  return user + system
}

async function timeAuthorize(
  server: MCPServer,
  requests: { token: string; proof: string }[],
): Promise<Timing> {
  const cpu = cpuNow()
  const start = performance.now()
  for (const { token, proof } of requests) {
    const result = await server.authorize({
      method: 'POST',
      url: RESOURCE,
      headers: { authorization: `DPoP ${token}`, dpop: proof },
    })
    if (!result.ok) throw new Error(`unexpected failure: ${result.failure.reason}`)
  }
  return {
    wall: ((performance.now() - start) * 1000) / requests.length,
    cpu: (cpuNow() - cpu) / requests.length,
  }
}

function timeRawVerifies(samples: { token: string; proof: string }[]): Timing {
  const tokenKey = createPublicKey({ key: publicKey.export({ format: 'jwk' }), format: 'jwk' })
  const proofKey = createPublicKey({ key: dpop.publicJwk as never, format: 'jwk' })
  const parsed = samples.map(({ token, proof }) => {
    const split = (jwt: string) => {
      const i = jwt.lastIndexOf('.')
      return [Buffer.from(jwt.slice(0, i)), Buffer.from(jwt.slice(i + 1), 'base64url')] as const
    }
    return [split(token), split(proof)] as const
  })
  const cpu = cpuNow()
  const start = performance.now()
  for (const [[tData, tSig], [pData, pSig]] of parsed) {
    if (!verify('sha256', tData, { key: tokenKey, dsaEncoding: 'ieee-p1363' }, tSig))
      throw new Error('token')
    if (!verify('sha256', pData, { key: proofKey, dsaEncoding: 'ieee-p1363' }, pSig))
      throw new Error('proof')
  }
  return {
    wall: ((performance.now() - start) * 1000) / parsed.length,
    cpu: (cpuNow() - cpu) / parsed.length,
  }
}

// Warm up (JWKS fetch, JIT). Then interleave baseline and authorize() in rounds and report
// the median ratio, so that load from other processes affects both sides alike.
const repeated = mint()
await timeAuthorize(server, await prepare(Array.from({ length: 500 }, () => repeated)))
await timeAuthorize(inPlace, await prepare(Array.from({ length: 500 }, () => repeated)))
timeRawVerifies(await prepare(Array.from({ length: 500 }, mint)))

const ROUNDS = 8
const per = Math.max(100, Math.floor(N / ROUNDS))
const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)] as number
}
const rows = {
  baseline: [] as number[],
  fresh: [] as number[],
  same: [] as number[],
  rFresh: [] as number[],
  rSame: [] as number[],
  cpuFresh: [] as number[],
  cpuSame: [] as number[],
  freshInPlace: [] as number[],
  rFreshInPlace: [] as number[],
  rSameInPlace: [] as number[],
}
for (let round = 0; round < ROUNDS; round++) {
  const freshBatch = await prepare(Array.from({ length: per }, mint))
  const sameBatch = await prepare(Array.from({ length: per }, () => repeated))
  const baseline = timeRawVerifies(freshBatch)
  // Each server has its own replay store and verified-token cache: the same batches are fresh
  // to both. Which one goes first alternates, so neither always meets a warmer machine.
  const timeBoth = async (first: MCPServer, second: MCPServer) => {
    const a = {
      fresh: await timeAuthorize(first, freshBatch),
      same: await timeAuthorize(first, sameBatch),
    }
    const b = {
      fresh: await timeAuthorize(second, freshBatch),
      same: await timeAuthorize(second, sameBatch),
    }
    return first === server ? { pool: a, place: b } : { pool: b, place: a }
  }
  const { pool, place } =
    round % 2 === 0 ? await timeBoth(server, inPlace) : await timeBoth(inPlace, server)
  const freshUs = pool.fresh
  const sameUs = pool.same
  rows.freshInPlace.push(place.fresh.wall)
  rows.rFreshInPlace.push(place.fresh.wall / baseline.wall)
  rows.rSameInPlace.push(place.same.wall / baseline.wall)
  rows.baseline.push(baseline.wall)
  rows.fresh.push(freshUs.wall)
  rows.same.push(sameUs.wall)
  rows.rFresh.push(freshUs.wall / baseline.wall)
  rows.rSame.push(sameUs.wall / baseline.wall)
  rows.cpuFresh.push(freshUs.cpu / baseline.cpu)
  rows.cpuSame.push(sameUs.cpu / baseline.cpu)
}

const result = {
  n: per * ROUNDS,
  node: process.version,
  baseline_two_es256_verifies_us: Number(median(rows.baseline).toFixed(1)),
  authorize_fresh_token_us: Number(median(rows.fresh).toFixed(1)),
  ratio_fresh_token: Number(median(rows.rFresh).toFixed(2)),
  authorize_repeated_token_us: Number(median(rows.same).toFixed(1)),
  ratio_repeated_token: Number(median(rows.rSame).toFixed(2)),
  cpu_ratio_fresh_token: Number(median(rows.cpuFresh).toFixed(2)),
  cpu_ratio_repeated_token: Number(median(rows.cpuSame).toFixed(2)),
  in_place_authorize_fresh_token_us: Number(median(rows.freshInPlace).toFixed(1)),
  in_place_ratio_fresh_token: Number(median(rows.rFreshInPlace).toFixed(2)),
  in_place_ratio_repeated_token: Number(median(rows.rSameInPlace).toFixed(2)),
}
console.log(
  `authorize (token + DPoP proof), median of ${ROUNDS} rounds: fresh token ${result.authorize_fresh_token_us} µs = ` +
    `${result.ratio_fresh_token}× two raw ES256 verifies (${result.baseline_two_es256_verifies_us} µs); ` +
    `repeated token ${result.authorize_repeated_token_us} µs = ${result.ratio_repeated_token}×. ` +
    `CPU (all threads; the signatures run on libuv's pool): fresh ${result.cpu_ratio_fresh_token}×, ` +
    `repeated ${result.cpu_ratio_repeated_token}× the baseline's. ` +
    `In place (offloadSignatures: false): fresh token ${result.in_place_authorize_fresh_token_us} µs = ` +
    `${result.in_place_ratio_fresh_token}×, repeated ${result.in_place_ratio_repeated_token}×`,
)
console.log(JSON.stringify(result))
await server.close()
await inPlace.close()
