import { createPrivateKey, createPublicKey, generateKeyPairSync } from 'node:crypto'
import type { JsonWebKey as NodeJwk, KeyObject } from 'node:crypto'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { calculateJwkThumbprint } from '@dauth/protocol'

/**
 * The platform Ed25519 key: the stand-in for a hardware attestation key. Generated once in
 * `<state>/enclave/platform.jwk.json` (mode 0600, launcher only); `kid` = RFC 7638 thumbprint.
 */
export interface PlatformKey {
  privateKey: KeyObject
  publicJwk: JsonWebKey
  kid: string
}

export async function loadOrCreatePlatformKey(enclaveDir: string): Promise<PlatformKey> {
  const file = join(enclaveDir, 'platform.jwk.json')
  let privateKey: KeyObject
  if (existsSync(file)) {
    privateKey = createPrivateKey({
      key: JSON.parse(readFileSync(file, 'utf8')) as NodeJwk,
      format: 'jwk',
    })
  } else {
    privateKey = generateKeyPairSync('ed25519').privateKey
    writeFileSync(file, `${JSON.stringify(privateKey.export({ format: 'jwk' }))}\n`, {
      mode: 0o600,
      flag: 'wx',
    })
  }
  const pub = createPublicKey(privateKey).export({ format: 'jwk' })
  const kid = await calculateJwkThumbprint({ kty: pub.kty, crv: pub.crv, x: pub.x } as JsonWebKey)
  const publicJwk: JsonWebKey & { kid: string } = {
    kty: 'OKP',
    crv: 'Ed25519',
    x: pub.x as string,
    kid,
  }
  return { privateKey, publicJwk, kid }
}
