// The cryptographic floor of one dispatch, measured in a tight loop in this process (CPU
// time, user + system, per operation). A dispatch cannot do less than:
//   - ES256 verify of the caller's DPoP proof (worker; the dispatch token's own verify is
//     remembered per token, so a reused token costs none),
//   - ES256 sign of the worker's DPoP proof for its envelope read (worker),
//   - ES256 verify of that proof (the AS; its access-token check may be cached),
//   - sealed-box open: X25519 + HSalsa20 + XSalsa20-Poly1305 (worker).
// In a busy process each costs more than here (caches shared with the rest of the work), so
// these are lower bounds.
import { generateKeyPairSync, sign, verify } from 'node:crypto'
import { generateBoxKeyPair, openSealedBox, sealBox } from '@dauth/protocol'

export interface CryptoFloors {
  es256_verify_us: number
  es256_sign_us: number
  sealed_box_open_us: number
  /** 2 verifies + 1 sign + 1 open */
  per_dispatch_us: number
}

function cpuMicrosPerOp(count: number, op: () => unknown): number {
  for (let i = 0; i < Math.min(200, count); i++) op()
  const start = process.cpuUsage()
  for (let i = 0; i < count; i++) op()
  const used = process.cpuUsage(start)
  return (used.user + used.system) / count
}

export function measureCryptoFloors(count = 2000): CryptoFloors {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  // a DPoP proof's signing input is ~300-500 bytes
  const input = Buffer.alloc(400, 0x61)
  const key = { key: privateKey, dsaEncoding: 'ieee-p1363' } as const
  const signature = sign('sha256', input, key)
  const es256_sign_us = cpuMicrosPerOp(count, () => sign('sha256', input, key))
  const es256_verify_us = cpuMicrosPerOp(count, () =>
    verify('sha256', input, { key: publicKey, dsaEncoding: 'ieee-p1363' }, signature),
  )
  const box = generateBoxKeyPair()
  // an envelope plaintext (binding + credential) is a few hundred bytes
  const sealed = sealBox(new Uint8Array(400).fill(0x62), box.publicKey)
  const sealed_box_open_us = cpuMicrosPerOp(count, () => openSealedBox(sealed, box).fill(0))
  const round = (n: number): number => Math.round(n * 10) / 10
  return {
    es256_verify_us: round(es256_verify_us),
    es256_sign_us: round(es256_sign_us),
    sealed_box_open_us: round(sealed_box_open_us),
    per_dispatch_us: round(2 * es256_verify_us + es256_sign_us + sealed_box_open_us),
  }
}
