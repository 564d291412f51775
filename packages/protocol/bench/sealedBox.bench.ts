/**
 * Sealed-box open throughput of the chosen implementation (`openSealedBox`: node:crypto X25519
 * + noble XSalsa20-Poly1305) against tweetnacl (`openSealedBoxPortable`) and
 * libsodium-wrappers (WebAssembly), in the same run: warm-up, then repeats with the three
 * interleaved (order rotated per repeat), medians and min / median / max, and the ratios
 * chosen ÷ tweetnacl and chosen ÷ libsodium per repeat.
 * Writes JSON to BENCH_JSON_OUT (default bench/results/sealed-box.json) for the suite report.
 * Run: pnpm --filter @dauth/protocol bench     (BENCH_QUICK=1 for a ~2 s smoke run)
 * Env: BENCH_QUICK, BENCH_JSON_OUT, BENCH_MS (time per implementation per repeat; 1500, quick
 *      100), BENCH_REPEATS (3).
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { cpus } from 'node:os'
import { dirname, resolve } from 'node:path'
import { performance } from 'node:perf_hooks'
import sodium from 'libsodium-wrappers'
import { generateBoxKeyPair, openSealedBox, openSealedBoxPortable, sealBox } from '../src/index.ts'

await sodium.ready

const QUICK = process.env.BENCH_QUICK === '1'
const positive = (name: string, fallback: number): number => {
  const value = Number(process.env[name])
  return Number.isFinite(value) && value > 0 ? value : fallback
}
const MESSAGE_BYTES = 256 // about the size of a credential envelope plaintext
const DURATION_MS = positive('BENCH_MS', QUICK ? 100 : 1500)
const REPEATS = positive('BENCH_REPEATS', 3)
const WARMUP_OPS = QUICK ? 50 : 500
const OUT = resolve(
  process.env.BENCH_JSON_OUT ?? resolve(import.meta.dirname, 'results', 'sealed-box.json'),
)

type Id = 'chosen' | 'tweetnacl' | 'libsodium'
const keyPair = generateBoxKeyPair()
const message = new Uint8Array(MESSAGE_BYTES).map((_, i) => i & 0xff)
const sealed = Array.from({ length: 64 }, () => sealBox(message, keyPair.publicKey))
const implementations: Record<Id, { label: string; open: (ct: Uint8Array) => Uint8Array }> = {
  chosen: {
    label: 'chosen: openSealedBox (node:crypto X25519 + noble XSalsa20-Poly1305)',
    open: (ct) => openSealedBox(ct, keyPair),
  },
  tweetnacl: {
    label: 'tweetnacl (openSealedBoxPortable)',
    open: (ct) => openSealedBoxPortable(ct, keyPair),
  },
  libsodium: {
    label: 'libsodium-wrappers (WebAssembly)',
    open: (ct) => sodium.crypto_box_seal_open(ct, keyPair.publicKey, keyPair.secretKey),
  },
}
const ids: Id[] = ['chosen', 'tweetnacl', 'libsodium']

/** Opens for DURATION_MS; opens per second. Every output is checked (no dead-code elimination). */
function measure(id: Id): number {
  const { open } = implementations[id]
  let ops = 0
  const start = performance.now()
  let elapsed = 0
  while (elapsed < DURATION_MS) {
    for (let i = 0; i < 50; i++) {
      const out = open(sealed[ops % sealed.length] as Uint8Array)
      if (out.length !== MESSAGE_BYTES) throw new Error(`${id} returned a wrong length`)
      ops++
    }
    elapsed = performance.now() - start
  }
  return (ops * 1000) / elapsed
}

const median = (values: readonly number[]): number => {
  const s = [...values].sort((a, b) => a - b)
  const mid = Math.floor(s.length / 2)
  return s.length % 2 === 1 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2
}
const round = (n: number, digits: number): number => Math.round(n * 10 ** digits) / 10 ** digits
const spread = (values: readonly number[], digits: number) => ({
  min: round(Math.min(...values), digits),
  median: round(median(values), digits),
  max: round(Math.max(...values), digits),
})

// Warm-up (JIT, key import caches, WebAssembly tier-up), not recorded.
for (const id of ids) {
  for (let i = 0; i < WARMUP_OPS; i++)
    implementations[id].open(sealed[i % sealed.length] as Uint8Array)
}
const runs: Record<Id, number[]> = { chosen: [], tweetnacl: [], libsodium: [] }
for (let r = 0; r < REPEATS; r++) {
  for (let k = 0; k < ids.length; k++) {
    const id = ids[(k + r) % ids.length] as Id
    runs[id].push(measure(id))
  }
}
const perRepeat = (other: Id) =>
  spread(
    runs.chosen.map((x, i) => x / (runs[other][i] ?? Number.NaN)),
    3,
  )

const result = {
  benchmark: 'sealed-box-open',
  version: 1,
  quick: QUICK,
  node: process.version,
  cpus: cpus().length,
  message_bytes: MESSAGE_BYTES,
  ms_per_run: DURATION_MS,
  repeats: REPEATS,
  implementations: Object.fromEntries(
    ids.map((id) => [
      id,
      {
        label: implementations[id].label,
        opens_per_s: spread(runs[id], 0),
        us_per_open: round(1e6 / median(runs[id]), 1),
        runs: runs[id].map((x) => round(x, 0)),
      },
    ]),
  ),
  /** Opens per second of the chosen implementation ÷ the other one, per repeat. */
  ratios: {
    chosen_over_tweetnacl: perRepeat('tweetnacl'),
    chosen_over_libsodium: perRepeat('libsodium'),
  },
}
mkdirSync(dirname(OUT), { recursive: true })
writeFileSync(OUT, `${JSON.stringify(result, null, 2)}\n`)

console.log(
  `sealed box open, ${MESSAGE_BYTES}-byte message, ${DURATION_MS} ms per run, ${REPEATS} repeats interleaved, node ${process.version}${QUICK ? ' (BENCH_QUICK)' : ''}`,
)
console.log('| implementation | opens/s (min / median / max) | µs/op | chosen ÷ this |')
console.log('|---|---:|---:|---:|')
for (const id of ids) {
  const s = result.implementations[id]
  const vs =
    id === 'chosen'
      ? '—'
      : `${(id === 'tweetnacl' ? result.ratios.chosen_over_tweetnacl : result.ratios.chosen_over_libsodium).median.toFixed(2)}×`
  console.log(
    `| ${implementations[id].label} | ${[s?.opens_per_s.min, s?.opens_per_s.median, s?.opens_per_s.max].map((x) => (x ?? 0).toLocaleString('en-US')).join(' / ')} | ${s?.us_per_open} | ${vs} |`,
  )
}
console.log(`JSON written to ${OUT}`)
