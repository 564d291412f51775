/** Encodes bytes as unpadded base64url (RFC 4648 §5), the form every JOSE and envelope field uses. */
export const base64url = {
  encode(bytes: Uint8Array): string {
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64url')
  },
  decode(text: string): Uint8Array {
    return new Uint8Array(Buffer.from(text, 'base64url'))
  },
}
