/**
 * Exact-value redaction of a secret in an upstream response (a hostile or careless upstream
 * that echoes the credential must not hand it to the caller). Forms covered: raw, base64
 * (padded and unpadded), base64url, hex (both cases), percent-encoded (both hex cases, and
 * `+` for spaces), JSON-escaped (incl. `\/`), and the Basic `user:secret` base64 form.
 */
export const REDACTED = '[REDACTED]'

export function secretForms(secret: string, basicUsername?: string): string[] {
  const raw = Buffer.from(secret, 'latin1')
  const forms = new Set<string>()
  forms.add(secret)
  const b64 = raw.toString('base64')
  forms.add(b64)
  forms.add(b64.replace(/=+$/, ''))
  forms.add(raw.toString('base64url'))
  forms.add(raw.toString('hex'))
  forms.add(raw.toString('hex').toUpperCase())
  const pct = encodeURIComponent(secret)
  forms.add(pct)
  forms.add(pct.replace(/%[0-9A-F]{2}/g, (m) => m.toLowerCase()))
  forms.add(pct.replace(/%20/g, '+'))
  const json = JSON.stringify(secret).slice(1, -1)
  forms.add(json)
  forms.add(json.replace(/\//g, '\\/'))
  if (basicUsername !== undefined) {
    const basic = Buffer.from(`${basicUsername}:${secret}`, 'latin1').toString('base64')
    forms.add(basic)
    forms.add(basic.replace(/=+$/, ''))
  }
  raw.fill(0)
  return [...forms].filter((f) => f.length > 0).sort((a, b) => b.length - a.length)
}

function replaceBytes(buf: Buffer, pattern: Buffer, replacement: Buffer): Buffer {
  let index = buf.indexOf(pattern)
  if (index === -1) return buf
  const parts: Buffer[] = []
  let start = 0
  while (index !== -1) {
    parts.push(buf.subarray(start, index), replacement)
    start = index + pattern.length
    index = buf.indexOf(pattern, start)
  }
  parts.push(buf.subarray(start))
  const out = Buffer.concat(parts)
  buf.fill(0)
  return out
}

export function redactBytes(body: Buffer, forms: readonly string[]): Buffer {
  const replacement = Buffer.from(REDACTED)
  let out = body
  for (const form of forms) {
    const pattern = Buffer.from(form, 'latin1')
    out = replaceBytes(out, pattern, replacement)
    pattern.fill(0)
  }
  return out
}

export function redactText(text: string, forms: readonly string[]): string {
  let out = text
  for (const form of forms) if (out.includes(form)) out = out.split(form).join(REDACTED)
  return out
}
