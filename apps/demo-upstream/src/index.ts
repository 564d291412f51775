/** @dauth/demo-upstream: under construction; see docs/reference/wire.md. */
export const packageName = '@dauth/demo-upstream'
