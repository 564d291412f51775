/** @dauth/as: under construction; see docs/reference/wire.md. */
export const packageName = '@dauth/as'
