import { createHash } from 'node:crypto'

/**
 * base64url of the SHA-384 of `bytes`: the hash used for enclave measurements.
 *
 * @example
 * ```ts
 * const measurement = sha384Base64url(await readFile(workerBundlePath))
 * ```
 */
export function sha384Base64url(bytes: Uint8Array): string {
  return createHash('sha384').update(bytes).digest('base64url')
}
