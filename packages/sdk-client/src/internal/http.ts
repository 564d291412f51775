import { InvalidResponseError } from '../errors.ts'

/** The fetch signature the SDK accepts (same as the official MCP SDK's `FetchLike`). */
export type FetchLike = (url: string | URL, init?: RequestInit) => Promise<Response>

/** The global fetch, looked up at call time so that tests and polyfills can replace it. */
export const defaultFetch: FetchLike = (url, init) => globalThis.fetch(url, init)

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** Reads a JSON object body; anything else is an {@link InvalidResponseError}. */
export async function readJsonObject(
  response: Response,
  what: string,
): Promise<Record<string, unknown>> {
  let body: unknown
  try {
    body = await response.json()
  } catch {
    throw new InvalidResponseError(`${what}: body is not JSON`)
  }
  if (!isRecord(body)) throw new InvalidResponseError(`${what}: body is not a JSON object`)
  return body
}

/** Reads `{error, error_description}` from a failed response, if the body has that shape. */
export async function readOAuthError(
  response: Response,
): Promise<{ error: string | undefined; errorDescription: string | undefined }> {
  try {
    const body: unknown = await response.json()
    if (isRecord(body)) {
      return {
        error: typeof body.error === 'string' ? body.error : undefined,
        errorDescription:
          typeof body.error_description === 'string' ? body.error_description : undefined,
      }
    }
  } catch {
    // not JSON: fall through
  }
  return { error: undefined, errorDescription: undefined }
}

/** Releases a response body we are not going to read (lets the connection be reused). */
export async function discardBody(response: Response): Promise<void> {
  try {
    await response.body?.cancel()
  } catch {
    // already consumed or errored: nothing to release
  }
}

/** Splits a space-delimited OAuth scope string (RFC 6749 §3.3) into distinct scope tokens. */
export function splitScope(scope: string | readonly string[] | undefined): string[] {
  if (scope === undefined) return []
  const parts = typeof scope === 'string' ? scope.split(' ') : scope
  return [...new Set(parts.filter((s) => s.length > 0))]
}

/** Union of two scope lists, keeping first-seen order. */
export function unionScopes(a: readonly string[], b: readonly string[]): string[] {
  return [...new Set([...a, ...b])]
}

/** `seconds since the epoch` clock, injectable for tests. */
export type Clock = () => number

export const systemClock: Clock = () => Math.floor(Date.now() / 1000)
