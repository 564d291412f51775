/**
 * The node `http` adapter: IncomingMessage → Web `Request`, Web `Response` → ServerResponse
 * (streamed, so SSE works). All decisions live in the Web-standard core.
 *
 * @module
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import { Readable } from 'node:stream'

/** Build a Web `Request` from a node request (repeated headers stay visible, joined by `, `). */
export function toWebRequest(req: IncomingMessage): Request {
  const headers = new Headers()
  const raw = req.rawHeaders
  for (let i = 0; i + 1 < raw.length; i += 2) {
    try {
      headers.append(raw[i] as string, raw[i + 1] as string)
    } catch {
      // A header value undici refuses is dropped; the checks then see it as absent.
    }
  }
  const host = req.headers.host ?? 'localhost'
  let url: string
  try {
    url = new URL(req.url ?? '/', `http://${host}`).href
  } catch {
    url = new URL(req.url ?? '/', 'http://invalid.invalid').href
  }
  const method = req.method ?? 'GET'
  const hasBody = method !== 'GET' && method !== 'HEAD'
  return new Request(url, {
    method,
    headers,
    ...(hasBody
      ? { body: Readable.toWeb(req) as ReadableStream<Uint8Array>, duplex: 'half' as const }
      : {}),
  })
}

/** Write a Web `Response` to a node response, streaming its body. */
export async function writeWebResponse(response: Response, res: ServerResponse): Promise<void> {
  const headers: Record<string, string | string[]> = {}
  response.headers.forEach((value, name) => {
    headers[name] = value
  })
  res.writeHead(response.status, headers)
  if (!response.body) {
    res.end()
    return
  }
  const reader = response.body.getReader()
  const onClose = (): void => {
    reader.cancel().catch(() => undefined)
  }
  res.on('close', onClose)
  try {
    for (;;) {
      const { done, value } = await reader.read()
      if (done) break
      if (!res.write(value)) {
        await new Promise<void>((resolve) => {
          const finish = (): void => {
            res.off('drain', finish)
            res.off('close', finish)
            resolve()
          }
          res.on('drain', finish)
          res.on('close', finish)
        })
      }
      if (res.destroyed) break
    }
  } catch {
    // client went away
  } finally {
    res.off('close', onClose)
    res.end()
  }
}
