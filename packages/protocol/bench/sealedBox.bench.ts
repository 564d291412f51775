/**
 * Sealed-box open throughput: the native path (node:crypto X25519 + noble XSalsa20-Poly1305),
 * the portable path (tweetnacl), and libsodium-wrappers (WebAssembly), in the same run.
 * Run: pnpm --filter @dauth/protocol bench
 */
import sodium from 'libsodium-wrappers'
import { generateBoxKeyPair, openSealedBox, openSealedBoxPortable, sealBox } from '../src/index.ts'

await sodium.ready

const MESSAGE_BYTES = 256 // about the size of a credential envelope plaintext
const DURATION_MS = Number(process.env.BENCH_MS ?? 1500)

const keyPair = generateBoxKeyPair()
const message = new Uint8Array(MESSAGE_BYTES).map((_, i) => i & 0xff)
const sealed = Array.from({ length: 64 }, () => sealBox(message, keyPair.publicKey))

function measure(
  name: string,
  open: (ct: Uint8Array) => Uint8Array,
): { name: string; opsPerSec: number } {
  // warm up (JIT, key import caches)
  for (let i = 0; i < 200; i++) open(sealed[i % sealed.length] as Uint8Array)
  let ops = 0
  const start = performance.now()
  let elapsed = 0
  while (elapsed < DURATION_MS) {
    for (let i = 0; i < 50; i++) {
      const out = open(sealed[ops % sealed.length] as Uint8Array)
      if (out.length !== MESSAGE_BYTES) throw new Error(`${name} returned a wrong length`)
      ops++
    }
    elapsed = performance.now() - start
  }
  return { name, opsPerSec: (ops * 1000) / elapsed }
}

const results = [
  measure('native (node:crypto + noble)', (ct) => openSealedBox(ct, keyPair)),
  measure('portable (tweetnacl)', (ct) => openSealedBoxPortable(ct, keyPair)),
  measure('libsodium-wrappers (wasm)', (ct) =>
    sodium.crypto_box_seal_open(ct, keyPair.publicKey, keyPair.secretKey),
  ),
]

const baseline = results[1]?.opsPerSec ?? 1
console.log(
  `sealed box open, ${MESSAGE_BYTES}-byte message, ${DURATION_MS} ms each, node ${process.version}`,
)
console.log('| implementation | opens/s | µs/op | vs tweetnacl |')
console.log('|---|---:|---:|---:|')
for (const r of results) {
  console.log(
    `| ${r.name} | ${Math.round(r.opsPerSec).toLocaleString('en-US')} | ${(1e6 / r.opsPerSec).toFixed(1)} | ${(r.opsPerSec / baseline).toFixed(2)}× |`,
  )
}
