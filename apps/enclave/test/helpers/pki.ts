import { execFileSync } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

/**
 * A throwaway CA and a leaf certificate for `localhost` and `pinned.test` (no IP SAN: the enclave connects
 * to the pinned IP, so a passing TLS check proves SNI/verification use the host name).
 */
export interface TestPki {
  caFile: string
  caPem: string
  certPem: string
  keyPem: string
}

export function makeTestPki(dir: string): TestPki {
  const run = (args: string[]): void => {
    execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' })
  }
  run([
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-nodes',
    '-keyout',
    'ca.key',
    '-out',
    'ca.pem',
    '-days',
    '2',
    '-subj',
    '/CN=dauth enclave test CA',
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  ])
  run([
    'req',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-nodes',
    '-keyout',
    'leaf.key',
    '-out',
    'leaf.csr',
    '-subj',
    '/CN=localhost',
  ])
  writeFileSync(
    join(dir, 'leaf.ext'),
    'subjectAltName=DNS:localhost,DNS:pinned.test\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n',
  )
  run([
    'x509',
    '-req',
    '-in',
    'leaf.csr',
    '-CA',
    'ca.pem',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-out',
    'leaf.pem',
    '-days',
    '2',
    '-extfile',
    'leaf.ext',
  ])
  return {
    caFile: join(dir, 'ca.pem'),
    caPem: readFileSync(join(dir, 'ca.pem'), 'utf8'),
    certPem: readFileSync(join(dir, 'leaf.pem'), 'utf8'),
    keyPem: readFileSync(join(dir, 'leaf.key'), 'utf8'),
  }
}
