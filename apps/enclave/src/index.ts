/** @dauth/enclave: under construction; see docs/reference/wire.md. */
export const packageName = '@dauth/enclave'
