// Shared server fixture: a stub AS and an MCPServer with a few tools, over real HTTP.
import { z } from 'zod'
import {
  type AuthorizationOptions,
  getContext,
  MCPServer,
  type MCPServerOptions,
  tool,
} from '../src/index.ts'
import { type StubAs, startStubAs } from './helpers.ts'

export function deleteFile({ path }: { path: string }): Promise<string> {
  return Promise.resolve(`deleted ${path}`)
}

export function testTools() {
  return [
    tool(
      {
        name: 'echo',
        description: 'Echo',
        requiredScopes: ['read'],
        inputSchema: { text: z.string() },
      },
      ({ text }) => text,
    ),
    tool(
      {
        description: 'Delete file',
        requiredScopes: ['files:delete'],
        inputSchema: { path: z.string() },
      },
      deleteFile,
    ),
    tool({ name: 'public_info', description: 'No scopes needed' }, () => {
      const { auth } = getContext()
      return auth === null ? 'anonymous' : `subject ${auth.subject}`
    }),
    tool(
      { name: 'context', description: 'Context as seen by a tool', requiredScopes: ['read'] },
      (_args, extra) =>
        JSON.stringify({
          auth: getContext().auth,
          authInfo: extra.http?.authInfo
            ? {
                token: extra.http?.authInfo.token,
                clientId: extra.http?.authInfo.clientId,
                scopes: extra.http?.authInfo.scopes,
                expiresAt: extra.http?.authInfo.expiresAt,
                extra: extra.http?.authInfo.extra,
              }
            : null,
        }),
    ),
  ]
}

export interface Fixture {
  as: StubAs
  server: MCPServer
  url: string
  metadataUrl: string
  close(): Promise<void>
}

export async function startFixture(
  authorization: Partial<AuthorizationOptions> = {},
  options: Omit<MCPServerOptions, 'authorization'> = {},
  as?: StubAs,
): Promise<Fixture> {
  const stub = as ?? (await startStubAs())
  const server = new MCPServer('test-server', {
    ...options,
    authorization: { authorizationServers: [stub.issuer], ...authorization },
  })
  server.collect(...testTools())
  const running = await server.serve()
  return {
    as: stub,
    server,
    url: running.url,
    metadataUrl: server.resourceMetadataUrl,
    close: async () => {
      await running.close()
      if (!as) await stub.close()
    },
  }
}
