/** @dauth/example-mcp: under construction; see docs/reference/wire.md. */
export const packageName = '@dauth/example-mcp'
