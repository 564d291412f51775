import { DiscoveryError } from '../errors.ts'
import { defaultFetch, discardBody, type FetchLike } from '../internal/http.ts'

/**
 * Fetches metadata URLs in the order given and returns the first one that answers 2xx with
 * JSON, with every URL tried so far (for the caller's own validation errors). A network
 * failure or a non-JSON 2xx stops the walk; a non-2xx moves on to the next candidate; when
 * none answers, a `notFound` DiscoveryError names every URL attempted. Both discovery walks
 * of the MCP authorization spec (RFC 9728 and RFC 8414 / OIDC) share this one loop.
 */
export async function fetchFirstMetadata(
  candidates: readonly string[],
  label: string,
  subject: string,
  options: { fetch?: FetchLike; headers?: Record<string, string> },
): Promise<{ candidate: string; body: unknown; attempted: string[] }> {
  const fetchImpl = options.fetch ?? defaultFetch
  const attempted: string[] = []
  for (const candidate of candidates) {
    attempted.push(candidate)
    let response: Response
    try {
      response = await fetchImpl(candidate, {
        headers: { accept: 'application/json', ...options.headers },
      })
    } catch (cause) {
      throw new DiscoveryError(`${label} unreachable at ${candidate}`, attempted, { cause })
    }
    if (!response.ok) {
      await discardBody(response)
      continue
    }
    try {
      return { candidate, body: await response.json(), attempted }
    } catch {
      throw new DiscoveryError(`${label} at ${candidate} is not JSON`, attempted)
    }
  }
  throw new DiscoveryError(`No ${label.toLowerCase()} found for ${subject}`, attempted, {
    notFound: true,
  })
}
