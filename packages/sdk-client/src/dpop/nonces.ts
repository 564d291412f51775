/**
 * Remembers the last `DPoP-Nonce` (RFC 9449 §8, §9) each origin handed out, so that the
 * next proof to that origin carries it without a wasted round trip.
 */
export class DpopNonceCache {
  readonly #nonces = new Map<string, string>()

  /** The nonce to put in the next proof for `url`'s origin, if one is known. */
  get(url: string | URL): string | undefined {
    return this.#nonces.get(new URL(url).origin)
  }

  /** Records the `DPoP-Nonce` header of `response` (if any) for `url`'s origin. */
  observe(url: string | URL, response: Response): boolean {
    const nonce = response.headers.get('dpop-nonce')
    if (nonce === null || nonce.length === 0) return false
    this.#nonces.set(new URL(url).origin, nonce)
    return true
  }
}
