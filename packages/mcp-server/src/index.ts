/** @dauth/mcp-server: under construction; see docs/reference/wire.md. */
export const packageName = '@dauth/mcp-server'
