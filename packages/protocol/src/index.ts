export { base64url } from './encoding/base64url.ts'
