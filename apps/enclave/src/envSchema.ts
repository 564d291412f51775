/**
 * The enclave launcher's environment variables (wire.md "Environment and state folder"): one
 * zod schema, from which `docs/reference/config.md` is generated.
 *
 * @module
 */
import { isIP } from 'node:net'
import { filePath, flag, issuer, port, positiveInt, text, url } from '@dauth/protocol/env'
import { z } from 'zod'

/** IPv4 `0.0.0.0` and IPv6 `::`: every interface, so no URL can be derived from the address. */
export const WILDCARD_HOSTS: ReadonlySet<string> = new Set(['0.0.0.0', '::'])

export const enclaveEnvSchema = z.object({
  DAUTH_STATE_DIR: filePath({
    description: 'state folder; the enclave keeps its private files in `<state>/enclave/`',
    defaultText: '`<repo>/.dauth`',
  }),
  DAUTH_ISSUER: issuer({
    default: 'http://localhost:4000',
    description: 'the AS issuer identifier',
  }),
  // An IP literal only: a name would be resolved at bind time, and could bind somewhere else
  // than the operator read in the manifest.
  DAUTH_ENCLAVE_HOST: text({
    default: '127.0.0.1',
    description:
      'listen IP address; `0.0.0.0` or `::` (every interface, e.g. in a container) requires `DAUTH_ENCLAVE_URL`',
  }).refine((value) => isIP(value) !== 0, 'must be an IP address, e.g. 127.0.0.1, 0.0.0.0 or ::'),
  DAUTH_ENCLAVE_PORT: port({
    default: '4200',
    allowZero: true,
    description: 'listen port (0 = a free port)',
  }),
  DAUTH_ENCLAVE_URL: url({
    schemes: ['http:', 'https:'],
    description: 'enclave base URL = `aud` of dispatch tokens and base of the DPoP `htu`',
    defaultText: '`http://127.0.0.1:<port>`',
  }),
  DAUTH_ENCLAVE_CLIENT_KEY_FILE: filePath({
    mustExist: true,
    description: "private ES256 JWK of the enclave's AS client (`dauth-enclave`)",
    defaultText: '`<state>/clients/enclave.jwk.json`',
  }),
  DAUTH_ENCLAVE_DEV_UPSTREAMS: flag({
    description: '`1` allows loopback upstreams with a port',
  }),
  DAUTH_ENCLAVE_EXTRA_CA: filePath({
    mustExist: true,
    description: 'PEM file of a CA trusted in addition to the default roots',
  }),
  DAUTH_ENCLAVE_TEST_HOOKS: flag({
    description:
      '`1` builds a separate, differently measured worker with test-only endpoints (`/__test/*`); never in production',
  }),
  REDIS_URL: url({
    schemes: ['redis:', 'rediss:'],
    secrecy: 'url-userinfo',
    description:
      'DPoP `jti` replay store shared by every enclave instance (fails closed when Redis cannot answer)',
    defaultText: 'unset → in-memory store of this launcher',
  }),
  DAUTH_ENCLAVE_REDIS_PREFIX: text({
    default: 'dauth:enclave:jti:',
    description:
      "prefix of the enclave's Redis keys (DPoP `jti` replay); give each stack its own to share one Redis",
  }),
  DAUTH_ENCLAVE_UPSTREAM_TIMEOUT_MS: positiveInt({
    default: '30000',
    unit: 'milliseconds',
    description: 'upstream time limit',
  }),
  DAUTH_ENCLAVE_MAX_RESPONSE_BYTES: positiveInt({
    default: '10485760',
    unit: 'bytes',
    description: 'upstream response body limit',
  }),
})
