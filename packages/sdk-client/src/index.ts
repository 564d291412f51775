/** @dauth/sdk-client: under construction; see docs/reference/wire.md. */
export const packageName = '@dauth/sdk-client'
