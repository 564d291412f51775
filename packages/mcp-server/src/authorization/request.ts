/**
 * The request-like input of the authorization core: a Web `Request`, or any object with a
 * method, a URL and headers (a `Headers`, or a node `headersDistinct`-style record).
 *
 * @module
 */

/** Headers as a Web `Headers` or a record of lower-case names to one or several values. */
export type HeadersLike =
  | { get(name: string): string | null }
  | Readonly<Record<string, string | readonly string[] | undefined>>

/** What {@link authorizeRequest} needs of a request. */
export interface RequestLike {
  method: string
  /** Absolute URL or origin-relative path. */
  url: string
  headers: HeadersLike
}

/**
 * All values of a header. A Web `Headers` joins repeated headers with `, `, which the callers
 * detect (a token68 or a compact JWS never contains a comma); a record keeps them apart.
 */
export function headerValues(headers: HeadersLike, name: string): string[] {
  if (typeof (headers as { get?: unknown }).get === 'function') {
    const value = (headers as { get(name: string): string | null }).get(name)
    return value === null ? [] : [value]
  }
  const value = (headers as Readonly<Record<string, string | readonly string[] | undefined>>)[name]
  if (value === undefined) return []
  return typeof value === 'string' ? [value] : [...value]
}
