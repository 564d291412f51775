/**
 * The authorization server's environment variables (wire.md "Environment and state folder"):
 * one zod schema, from which `docs/reference/config.md` is generated.
 *
 * @module
 */
import { filePath, flag, issuer, port, positiveInt, text, url } from '@dauth/protocol/env'
import { z } from 'zod'

export const asEnvSchema = z.object({
  DAUTH_STATE_DIR: filePath({
    description:
      'state folder (ARCHITECTURE.md §6); relative paths resolve against the working directory',
    defaultText: '`.dauth` in the working directory',
  }),
  DAUTH_ISSUER: issuer({
    default: 'http://localhost:4000',
    description: 'the AS issuer identifier',
  }),
  DAUTH_AS_PORT: port({
    default: '4000',
    allowZero: true,
    description: 'listen port (0 = a free port)',
  }),
  DAUTH_ENCLAVE_URL: url({
    schemes: ['http:', 'https:'],
    default: 'http://127.0.0.1:4200',
    description: 'enclave base URL; also the `aud` of dispatch tokens',
  }),
  DAUTH_DEV: flag({
    description:
      '`1`: open dynamic registration, seed the `demo` account, allow http issuer on localhost',
  }),
  DAUTH_AS_CLIENTS_FILE: filePath({
    description: 'static client metadata (JSON) loaded when the file exists',
    defaultText: '`<state>/clients.json`',
  }),
  DAUTH_AS_RESOURCES_FILE: filePath({
    description: 'the resource registry (JSON) loaded when the file exists',
    defaultText: '`<state>/resources.json`',
  }),
  DATABASE_URL: url({
    schemes: ['postgres:', 'postgresql:'],
    secrecy: 'url-userinfo',
    description: 'selects PostgreSQL',
    defaultText: 'unset → `node:sqlite` file `<state>/as.sqlite`',
  }),
  REDIS_URL: url({
    schemes: ['redis:', 'rediss:'],
    secrecy: 'url-userinfo',
    description: 'DPoP replay store and login rate limits shared by several instances',
    defaultText: 'unset → in-process stores',
  }),
  DAUTH_REDIS_PREFIX: text({
    default: 'dauth:as:',
    description: "prefix of the AS's Redis keys (replay, login limits)",
  }),
  DAUTH_AS_KEYS_RELOAD_SECONDS: positiveInt({
    default: '30',
    unit: 'seconds',
    description:
      'how often each instance re-reads its signing keys: a rotation (`dauth keys rotate-signing`) takes effect without a restart',
  }),
  DAUTH_AS_METRICS_TOKEN: text({
    secrecy: 'secret',
    description: 'bearer token required by `GET /metrics` when set',
  }),
})
