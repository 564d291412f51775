// The dev CA that signs the demo upstream's certificate. Tests and `pnpm dev` trust it only
// through DAUTH_ENCLAVE_EXTRA_CA; it is never installed in a system trust store. Its private
// key is discarded as soon as the leaf is signed, so a leaked state folder cannot mint
// certificates for other names.
import 'reflect-metadata'
import * as x509 from '@peculiar/x509'

x509.cryptoProvider.set(crypto)

const EC_P256 = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const

/** PEM files of a freshly issued dev CA and a leaf certificate for the given names. */
export interface DevCertificates {
  caCertPem: string
  leafCertPem: string
  leafKeyPem: string
}

/**
 * Issues a dev CA (valid 1 year) and a TLS server certificate for `localhost`, `127.0.0.1`
 * and `::1` (plus `dnsNames`) signed by it.
 *
 * @example
 * const { caCertPem, leafCertPem, leafKeyPem } = await issueDevCertificates()
 */
export async function issueDevCertificates(
  dnsNames: readonly string[] = [],
): Promise<DevCertificates> {
  const notBefore = new Date(Date.now() - 60_000)
  const notAfter = new Date(Date.now() + 365 * 24 * 3600 * 1000)
  const caKeys = await crypto.subtle.generateKey(EC_P256, false, ['sign', 'verify'])
  const ca = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerial(),
    name: 'CN=DAuth dev CA (local testing only)',
    notBefore,
    notAfter,
    signingAlgorithm: EC_P256,
    keys: caKeys,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(
        x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign,
        true,
      ),
      await x509.SubjectKeyIdentifierExtension.create(caKeys.publicKey),
    ],
  })
  const leafKeys = await crypto.subtle.generateKey(EC_P256, true, ['sign', 'verify'])
  const leaf = await x509.X509CertificateGenerator.create({
    serialNumber: randomSerial(),
    subject: 'CN=localhost',
    issuer: ca.subject,
    notBefore,
    notAfter,
    signingAlgorithm: EC_P256,
    publicKey: leafKeys.publicKey,
    signingKey: caKeys.privateKey,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension([
        { type: 'dns', value: 'localhost' },
        ...dnsNames.map((value) => ({ type: 'dns' as const, value })),
        { type: 'ip', value: '127.0.0.1' },
        { type: 'ip', value: '::1' },
      ]),
      await x509.AuthorityKeyIdentifierExtension.create(ca),
    ],
  })
  const pkcs8 = await crypto.subtle.exportKey('pkcs8', leafKeys.privateKey)
  return {
    caCertPem: ca.toString('pem'),
    leafCertPem: leaf.toString('pem'),
    leafKeyPem: x509.PemConverter.encode(pkcs8, 'PRIVATE KEY'),
  }
}

function randomSerial(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16))
  bytes[0] = (bytes[0] ?? 0) & 0x7f // a positive INTEGER
  return Buffer.from(bytes).toString('hex')
}
