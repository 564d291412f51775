import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { RedirectReceiver } from '../auth/authorizationCode.ts'

/** A loopback redirect listener (RFC 8252 §7.3) for the authorization code flow. */
export interface LoopbackRedirectListener extends RedirectReceiver {
  /** `http://127.0.0.1:<port><path>`: register this as the client's redirect URI. */
  readonly redirectUri: string
  /** Stops listening (also done automatically after the first redirect). */
  close(): Promise<void>
}

/** Options of {@link startLoopbackRedirectListener}. */
export interface LoopbackRedirectListenerOptions {
  /** Port (default 0: any free port; RFC 8252 §7.3 lets the AS accept any port). */
  readonly port?: number
  /** Callback path (default `/callback`). */
  readonly path?: string
  /** Page shown after the redirect. */
  readonly successHtml?: string
}

/**
 * Listens on `127.0.0.1` for the browser's redirect back from the AS and resolves
 * `waitForRedirect()` with the full redirect URL (the flow checks `state`, `iss`, `code`).
 * Only the first request to the callback path counts; the listener then closes.
 *
 * @example
 * ```ts
 * const listener = await startLoopbackRedirectListener()
 * const auth = AuthorizationCodeAuth({ clientId, redirectUri: listener.redirectUri,
 *   redirectReceiver: listener, openBrowser: async (u) => { await open(u.href) } })
 * ```
 */
export async function startLoopbackRedirectListener(
  options: LoopbackRedirectListenerOptions = {},
): Promise<LoopbackRedirectListener> {
  const path = options.path ?? '/callback'
  let resolveRedirect!: (url: URL) => void
  const redirected = new Promise<URL>((resolve) => {
    resolveRedirect = resolve
  })
  let done = false
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', `http://127.0.0.1`)
    if (req.method !== 'GET' || url.pathname !== path || done) {
      res.writeHead(404, { 'content-type': 'text/plain', connection: 'close' }).end('Not found')
      return
    }
    done = true
    res
      .writeHead(200, {
        'content-type': 'text/html; charset=utf-8',
        'cache-control': 'no-store',
        connection: 'close',
      })
      .end(
        options.successHtml ??
          '<!doctype html><title>Signed in</title><p>You can close this window.</p>',
      )
    resolveRedirect(new URL(`${url.pathname}${url.search}`, redirectUri))
    void close()
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve())
  })
  const { port } = server.address() as AddressInfo
  const redirectUri = `http://127.0.0.1:${port}${path}`
  let closing: Promise<void> | undefined
  const close = (): Promise<void> =>
    (closing ??= new Promise<void>((resolve) => {
      server.close(() => resolve())
      server.closeIdleConnections()
    }))
  return { redirectUri, waitForRedirect: () => redirected, close }
}
