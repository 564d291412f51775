import { Server } from '@modelcontextprotocol/sdk/server/index.js'
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js'
import { CallToolRequestSchema, ListToolsRequestSchema } from '@modelcontextprotocol/sdk/types.js'
import { DpopProofError, verifyDpopProof } from '@dauth/protocol'
import { header, json, startStub, type StubServer } from './http.ts'
import type { StubAs } from './stubAs.ts'

export interface StubMcpOptions {
  /** Require an RS-provided DPoP nonce (401 use_dpop_nonce once). */
  requireNonce?: boolean
  /** Scopes each tool needs (default: echo → read). */
  toolScopes?: Record<string, string[]>
  /** How a missing tool scope is reported: HTTP 403 insufficient_scope, or an isError tool result. */
  scopeRefusal?: '403' | 'tool-error'
  /** Where PRM is served: path-aware URL, root URL only, or both. */
  prmAt?: 'path-aware' | 'root'
  /** Put resource_metadata in the 401 challenge (default true). */
  challengeResourceMetadata?: boolean
  /** Overrides the PRM `resource`. */
  resource?: string
  /** Scope the 401 challenge names. */
  challengeScope?: string
}

export interface StubMcp {
  url: string
  server: StubServer
  close(): Promise<void>
}

export async function startStubMcp(as: StubAs, options: StubMcpOptions = {}): Promise<StubMcp> {
  const rsNonce = 'rs-nonce-1'
  const toolScopes = options.toolScopes ?? { echo: ['read'] }
  let mcpUrl = ''
  const server = await startStub(async (req, res, rec) => {
    const prmPathAware = '/.well-known/oauth-protected-resource/mcp'
    const prm = {
      resource: options.resource ?? mcpUrl,
      authorization_servers: [as.issuer],
      scopes_supported: ['read', 'admin'],
      bearer_methods_supported: ['header'],
      dpop_signing_alg_values_supported: ['ES256', 'EdDSA'],
    }
    if (rec.method === 'GET' && rec.path === prmPathAware) {
      if (options.prmAt === 'root') return json(res, 404, { error: 'not_found' })
      return json(res, 200, prm)
    }
    if (rec.method === 'GET' && rec.path === '/.well-known/oauth-protected-resource') {
      if (options.prmAt === 'path-aware') return json(res, 404, { error: 'not_found' })
      return json(res, 200, prm)
    }
    if (rec.path !== '/mcp') return json(res, 404, { error: 'not_found' })

    const challengeParams = [
      ...(options.challengeResourceMetadata === false
        ? []
        : [`resource_metadata="${server.url}${prmPathAware}"`]),
      ...(options.challengeScope !== undefined ? [`scope="${options.challengeScope}"`] : []),
    ].join(', ')
    const authz = header(rec, 'authorization')
    const [scheme, value] = authz?.split(' ') ?? []
    const token = value !== undefined ? as.tokens.get(value) : undefined
    if (token === undefined || token.resource !== mcpUrl) {
      return json(
        res,
        401,
        { error: 'invalid_token' },
        { 'www-authenticate': `Bearer ${challengeParams}`.trim() },
      )
    }
    if (token.jkt !== undefined) {
      if (scheme !== 'DPoP')
        return json(
          res,
          401,
          { error: 'invalid_token' },
          { 'www-authenticate': 'DPoP error="invalid_token"' },
        )
      try {
        await verifyDpopProof(header(rec, 'dpop') ?? '', {
          htm: rec.method,
          htu: `${server.url}/mcp`,
          accessToken: value!,
          expectedJkt: token.jkt,
          ...(options.requireNonce ? { nonce: rsNonce, requireNonce: true } : {}),
        })
      } catch (error) {
        if (error instanceof DpopProofError && error.code === 'ERR_DPOP_NONCE') {
          return json(
            res,
            401,
            { error: 'use_dpop_nonce' },
            {
              'www-authenticate':
                'DPoP error="use_dpop_nonce", error_description="Resource server requires nonce in DPoP proof"',
              'dpop-nonce': rsNonce,
            },
          )
        }
        return json(
          res,
          401,
          { error: 'invalid_dpop_proof' },
          { 'www-authenticate': `DPoP error="invalid_dpop_proof"` },
        )
      }
    }
    let body: unknown
    if (rec.method === 'POST') body = JSON.parse(rec.body)
    const message = body as { method?: string; params?: { name?: string } } | undefined
    if (message?.method === 'tools/call' && (options.scopeRefusal ?? '403') === '403') {
      const needed = toolScopes[message.params?.name ?? ''] ?? []
      const missing = needed.filter((s) => !token.scope.includes(s))
      if (missing.length > 0) {
        return json(
          res,
          403,
          { error: 'insufficient_scope' },
          {
            'www-authenticate': `${token.jkt !== undefined ? 'DPoP' : 'Bearer'} error="insufficient_scope", scope="${[...new Set([...token.scope, ...needed])].join(' ')}", ${challengeParams}`,
          },
        )
      }
    }
    const mcp = new Server({ name: 'stub-mcp', version: '1.0.0' }, { capabilities: { tools: {} } })
    mcp.setRequestHandler(ListToolsRequestSchema, () => ({
      tools: Object.keys(toolScopes).map((name) => ({
        name,
        inputSchema: { type: 'object' as const },
      })),
    }))
    mcp.setRequestHandler(CallToolRequestSchema, (request) => {
      const name = request.params.name
      const needed = toolScopes[name] ?? []
      const missing = needed.filter((s) => !token.scope.includes(s))
      if (missing.length > 0) {
        const list = (xs: string[]): string => `[${xs.map((s) => `'${s}'`).join(', ')}]`
        return {
          isError: true,
          content: [
            {
              type: 'text' as const,
              text: `Tool "${name}" requires scopes: ${list(needed)}. Missing: ${list(missing)}`,
            },
          ],
        }
      }
      return {
        content: [
          {
            type: 'text' as const,
            text: JSON.stringify({
              tool: name,
              args: request.params.arguments ?? {},
              sub: token.sub,
            }),
          },
        ],
      }
    })
    const transport = new StreamableHTTPServerTransport({ enableJsonResponse: true })
    await mcp.connect(transport)
    res.on('close', () => {
      void transport.close()
      void mcp.close()
    })
    await transport.handleRequest(req, res, body)
  })
  mcpUrl = `${server.url}/mcp`
  return { url: mcpUrl, server, close: () => server.close() }
}
