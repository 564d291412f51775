// Every row of THREATS.md (attack and expected outcome verbatim), the defence that answers
// it, and the tests that fail without that defence. docs/security.md is rendered from this
// list (scripts/securityDoc.ts); test/threats.test.ts checks it against THREATS.md, the
// document and the test files.

/** A test, by its file (from the repository root) and its name exactly as in the source. */
export interface TestRef {
  file: string
  name: string
}

export interface ThreatEntry {
  section: string
  attack: string
  expected: string
  defence: string
  tests: TestRef[]
}

const TOKENS = 'Tokens (resource server: mcp-server, enclave)'
const DPOP = 'DPoP (RFC 9449)'
const AS = 'Authorization server'
const ENCLAVE = 'Connections and the enclave'
const CANARY = 'Secrets never leak (canary tests)'
const FAULTS = 'Faults'

const MCP_TOKENS = 'packages/mcp-server/test/tokens.test.ts'
const MCP_DPOP = 'packages/mcp-server/test/dpop.test.ts'
const ENCLAVE_E2E = 'apps/enclave/test/e2e/enclave.test.ts'
const PROTOCOL_DPOP = 'packages/protocol/test/dpop.test.ts'
const AS_CODE = 'apps/as/test/authorizationCode.test.ts'
const AS_EXCHANGE = 'apps/as/test/tokenExchange.test.ts'
const E2E = 'tests/e2e/test/flow.test.ts'
const SEC_CANARY = 'tests/security/test/canary.test.ts'
const SEC_FAULTS = 'tests/security/test/faults.test.ts'
const SEC_SCALE = 'tests/security/test/scaleout.test.ts'

const ref = (file: string, name: string): TestRef => ({ file, name })

export const THREAT_MAP: ThreatEntry[] = [
  {
    section: TOKENS,
    attack: 'no token; malformed header; two Authorization headers',
    expected: '401, `WWW-Authenticate` with absolute `resource_metadata`',
    defence:
      'The MCP server SDK answers every unauthenticated request with the RFC 9728 challenge built from its absolute resource URL; the Authorization header is parsed strictly and a repeated one refused.',
    tests: [
      ref(MCP_TOKENS, 'no token: 401 with absolute resource_metadata, no error code'),
      ref(MCP_TOKENS, 'malformed Authorization ${JSON.stringify(header)}: 401 invalid_request'),
      ref(MCP_TOKENS, 'two Authorization headers: 401'),
      ref(E2E, 'no token: 401 with an absolute resource_metadata URL'),
    ],
  },
  {
    section: TOKENS,
    attack:
      'bad signature; unknown `kid` (also: a flood of unknown kids must not hammer the JWKS endpoint)',
    expected: '401 `invalid_token`',
    defence:
      'JWT validation against the issuer JWKS (jose); an unknown kid triggers at most one JWKS refresh per interval, in the MCP server and in the enclave.',
    tests: [
      ref(MCP_TOKENS, 'bad signature (another key under the same kid): 401 invalid_token'),
      ref(MCP_TOKENS, 'tampered payload: 401 invalid_token'),
      ref(MCP_TOKENS, 'unknown kid: 401 invalid_token'),
      ref(
        'packages/mcp-server/test/jwks.test.ts',
        'a flood of unknown kids triggers at most one JWKS fetch per interval',
      ),
      ref(ENCLAVE_E2E, 'refuses bad tokens'),
      ref(ENCLAVE_E2E, 'a flood of unknown kids does not hammer the JWKS endpoint'),
    ],
  },
  {
    section: TOKENS,
    attack: '`alg: none`; HS256 signed with the public key as secret; alg not in allow-list',
    expected: '401',
    defence:
      'An explicit asymmetric algorithm allow-list (DEFAULT_TOKEN_ALGORITHMS) passed to jose; the key type must match the algorithm.',
    tests: [
      ref(MCP_TOKENS, 'alg none: 401'),
      ref(MCP_TOKENS, 'HS256 signed with the public key as the secret: 401 invalid_token'),
      ref(MCP_TOKENS, 'alg outside the allow-list (ES384): 401 invalid_token'),
      ref(ENCLAVE_E2E, 'refuses bad tokens'),
    ],
  },
  {
    section: TOKENS,
    attack: 'expired; `nbf` in the future; `iat` far in the future',
    expected: '401',
    defence: 'Time claims checked with a 5 s leeway; an `iat` in the future beyond it is refused.',
    tests: [
      ref(MCP_TOKENS, 'expired: 401; within the 5 s leeway: accepted'),
      ref(MCP_TOKENS, 'nbf in the future: 401'),
      ref(MCP_TOKENS, 'iat far in the future: 401'),
      ref(ENCLAVE_E2E, 'refuses bad tokens'),
    ],
  },
  {
    section: TOKENS,
    attack: 'wrong `iss`; `aud` for another resource (token passthrough / confused deputy)',
    expected: '401',
    defence:
      'Exact `iss` and `aud` = the resource URL (the enclave: its own URL); a token is never forwarded upstream, the enclave gets an exchanged dispatch token.',
    tests: [
      ref(MCP_TOKENS, 'wrong iss (signed by the right key): 401'),
      ref(MCP_TOKENS, 'aud of another resource (token passthrough): 401'),
      ref(ENCLAVE_E2E, 'refuses bad tokens'),
      ref(
        E2E,
        'a token for another audience (the vault) is refused by the MCP server with 401 invalid_token',
      ),
    ],
  },
  {
    section: TOKENS,
    attack: '`typ` not `at+jwt` (e.g. an ID token)',
    expected: '401',
    defence: 'The JWT header `typ` must be `at+jwt` (RFC 9068).',
    tests: [
      ref(MCP_TOKENS, 'typ not at+jwt (an ID token): 401'),
      ref(ENCLAVE_E2E, 'refuses bad tokens'),
    ],
  },
  {
    section: TOKENS,
    attack: 'missing server-level scope',
    expected: '403 `insufficient_scope` with `scope=`',
    defence: 'Server-level required scopes checked before any MCP method runs.',
    tests: [ref(MCP_TOKENS, 'missing server-level scope: 403 insufficient_scope with scope=')],
  },
  {
    section: TOKENS,
    attack: 'missing per-tool scope',
    expected:
      'tool error text `Tool "x" requires scopes: [...]. Missing: [...]` (or 403 when configured)',
    defence:
      'Per-tool scopes checked before input validation and the handler; the documented text or, with `http-403`, a 403 challenge naming the scopes.',
    tests: [
      ref(MCP_TOKENS, 'missing per-tool scope: exact tool error text'),
      ref(MCP_TOKENS, 'missing per-tool scope is refused before input validation'),
      ref(MCP_TOKENS, 'missing per-tool scope with http-403: 403 naming the needed scopes'),
      ref(
        'apps/example-mcp/test/example.test.ts',
        'api_request without api:call: the documented scope error',
      ),
    ],
  },
  {
    section: TOKENS,
    attack: '`failOpen: true` and an invalid token calling a scoped tool',
    expected: 'refused',
    defence:
      '`failOpen` only lets anonymous callers reach unscoped tools; a presented token must be valid, and scoped tools always need one.',
    tests: [
      ref(MCP_TOKENS, 'an invalid token calling a scoped tool is refused (401 invalid_token)'),
      ref(MCP_TOKENS, 'no token calling a scoped tool is refused (401)'),
      ref(MCP_TOKENS, 'a batch smuggling a scoped call is refused'),
    ],
  },
  {
    section: DPOP,
    attack: 'DPoP-bound token sent as `Bearer`',
    expected: '401',
    defence: 'A token with `cnf.jkt` is only accepted with the DPoP scheme and a matching proof.',
    tests: [
      ref(MCP_DPOP, 'a DPoP-bound token sent as Bearer: 401 invalid_token'),
      ref(
        MCP_TOKENS,
        'a DPoP-bound token (cnf.jkt) sent as Bearer: 401 even where Bearer is allowed',
      ),
      ref(ENCLAVE_E2E, 'refuses bad proofs and wrong schemes'),
    ],
  },
  {
    section: DPOP,
    attack: 'no proof / two `DPoP` headers / proof signed by another key than `cnf.jkt`',
    expected: '401 `invalid_dpop_proof`',
    defence:
      'Exactly one DPoP header; the proof key thumbprint (RFC 7638) must equal the token `cnf.jkt`.',
    tests: [
      ref(MCP_DPOP, 'no proof: 401 invalid_dpop_proof'),
      ref(MCP_DPOP, 'two DPoP headers: 401 invalid_dpop_proof'),
      ref(MCP_DPOP, 'proof signed by another key than cnf.jkt: 401 invalid_dpop_proof'),
      ref(ENCLAVE_E2E, 'refuses bad proofs and wrong schemes'),
    ],
  },
  {
    section: DPOP,
    attack: 'wrong `htm` or `htu` (incl. query/fragment games, trailing slash, host case)',
    expected: '401',
    defence:
      '`htm` compared exactly; `htu` normalised per RFC 9449 §4.3 (scheme and host case, default port, no query or fragment) and compared with the configured public URL, path exact.',
    tests: [
      ref(MCP_DPOP, 'wrong htm: 401'),
      ref(MCP_DPOP, 'wrong htu ${variant}: 401'),
      ref(MCP_DPOP, 'htu of another scheme (https): 401'),
      ref(MCP_DPOP, 'htu normalisation (RFC 9449 §4.3): query dropped, host case-insensitive'),
      ref(PROTOCOL_DPOP, 'keeps the path exactly (trailing slash matters)'),
    ],
  },
  {
    section: DPOP,
    attack: 'missing or wrong `ath`',
    expected: '401',
    defence: '`ath` must be the base64url SHA-256 of the presented access token.',
    tests: [
      ref(MCP_DPOP, 'missing ath: 401; wrong ath: 401'),
      ref(ENCLAVE_E2E, 'refuses bad proofs and wrong schemes'),
    ],
  },
  {
    section: DPOP,
    attack:
      'replayed `jti` — immediately, after 10,000 other proofs, and against a second instance sharing Redis',
    expected: '401',
    defence:
      'A replay store keyed `jkt:jti` kept until the proof can no longer be fresh; it never evicts a live entry (full = fail closed); with `REDIS_URL` it is `SET NX` in Redis shared by every instance of the AS, the MCP server and the enclave.',
    tests: [
      ref(MCP_DPOP, 'replayed jti (same proof twice): second is 401'),
      ref(MCP_DPOP, 'replayed jti after 10,000 other proofs: 401'),
      ref(PROTOCOL_DPOP, 'a replayed jti after 10,000 other proofs → ERR_DPOP_REPLAY'),
      ref(
        'packages/mcp-server/test/redis.test.ts',
        'a proof used at instance A is refused at instance B',
      ),
      ref(
        'apps/enclave/test/e2e/replayRedis.test.ts',
        'a proof accepted by one instance is refused by a second instance sharing Redis',
      ),
      ref(SEC_SCALE, 'a DPoP proof accepted by AS #1 is refused as a replay by AS #2'),
      ref(
        SEC_SCALE,
        'a dispatch proof accepted by enclave #1 is refused as a replay by enclave #2',
      ),
    ],
  },
  {
    section: DPOP,
    attack: 'stale or future `iat`; missing/old nonce when nonces are required',
    expected: '401 with `DPoP-Nonce`',
    defence:
      'A freshness window on `iat`; server nonces (HMAC of a time window) with `use_dpop_nonce` and a fresh `DPoP-Nonce` header.',
    tests: [
      ref(MCP_DPOP, 'stale iat and future iat: 401'),
      ref(MCP_DPOP, 'missing nonce: 401 use_dpop_nonce with DPoP-Nonce; retry with it succeeds'),
      ref(
        MCP_DPOP,
        'old nonce: 401 use_dpop_nonce with a new DPoP-Nonce; stale iat carries DPoP-Nonce too',
      ),
    ],
  },
  {
    section: DPOP,
    attack: "private key material inside the proof's `jwk`; symmetric alg",
    expected: '401',
    defence:
      'The proof `jwk` must be a public asymmetric key (no `d`, no `k`); the proof algorithm must be in the asymmetric allow-list.',
    tests: [
      ref(MCP_DPOP, 'private key material inside the proof jwk: 401'),
      ref(MCP_DPOP, 'symmetric alg (HS256) proof: 401'),
    ],
  },
  {
    section: AS,
    attack: 'authorization code reuse',
    expected: "refused, and the grant's tokens revoked",
    defence:
      'oidc-provider consumes codes once; a second redemption revokes the grant (its refresh token dies).',
    tests: [
      ref(
        AS_CODE,
        'full flow: iss in the response (RFC 9207), DPoP-bound JWT for the resource, refresh rotation',
      ),
    ],
  },
  {
    section: AS,
    attack: 'PKCE missing / `plain` / wrong verifier',
    expected: 'refused',
    defence: 'PKCE required for every authorization request, S256 only.',
    tests: [ref(AS_CODE, 'PKCE is required and S256 only; a wrong verifier is refused')],
  },
  {
    section: AS,
    attack: 'redirect URI not exactly registered; open redirect through error responses',
    expected: 'refused',
    defence:
      'Exact redirect URI match; an invalid redirect URI is answered on the AS itself, never by redirecting.',
    tests: [ref(AS_CODE, 'an unregistered redirect_uri is refused without redirecting')],
  },
  {
    section: AS,
    attack: 'token for resource A used at resource B',
    expected: 'B refuses (audience)',
    defence:
      'RFC 8707: the AS issues a token for exactly the requested registered resource; every resource server checks `aud`.',
    tests: [
      ref(
        'apps/as/test/tokens.test.ts',
        'client_credentials + DPoP gives an RFC 9068 JWT for exactly the requested resource',
      ),
      ref(
        E2E,
        'a token for another audience (the vault) is refused by the MCP server with 401 invalid_token',
      ),
      ref(MCP_TOKENS, 'aud of another resource (token passthrough): 401'),
    ],
  },
  {
    section: AS,
    attack: 'refresh token of a public client replayed after rotation',
    expected: 'refused, family revoked',
    defence: 'Refresh tokens of public clients rotate; reuse of a rotated one revokes the grant.',
    tests: [
      ref(
        AS_CODE,
        'full flow: iss in the response (RFC 9207), DPoP-bound JWT for the resource, refresh rotation',
      ),
    ],
  },
  {
    section: AS,
    attack: 'token exchange with a subject token not issued to the requesting MCP server',
    expected: 'refused',
    defence:
      'The subject token audience must be a resource whose `dispatchClients` include the requesting client.',
    tests: [
      ref(AS_EXCHANGE, 'refuses another MCP server presenting a token issued for this one'),
      ref(
        AS_EXCHANGE,
        'refuses a subject token issued for a resource the client may not dispatch for',
      ),
      ref(AS_EXCHANGE, 'refuses a forged or foreign subject token'),
    ],
  },
  {
    section: AS,
    attack: 'dispatch token asking for a handle the subject token does not carry',
    expected: 'refused',
    defence:
      'Requested handles must be in the subject token `connections` claim and still active for its owner.',
    tests: [
      ref(AS_EXCHANGE, 'refuses a handle the subject token does not carry (another owner)'),
      ref(
        AS_EXCHANGE,
        'refuses a revoked connection, even though the subject token still carries it',
      ),
      ref(
        E2E,
        "another owner's handle gets exactly the same refusal as an unknown handle at the token exchange",
      ),
    ],
  },
  {
    section: AS,
    attack: 'DCR / CIMD with http redirect URIs (non-loopback), private-IP metadata URLs (SSRF)',
    expected: 'refused',
    defence:
      'Registration policy: http redirect URIs only on loopback; CIMD client_id URLs must be https on a host that resolves only to public addresses, checked before any connection.',
    tests: [
      ref(
        'apps/as/test/registration.test.ts',
        'DCR refuses http redirect URIs on non-loopback hosts',
      ),
      ref(
        'apps/as/test/cimd.test.ts',
        'client_id URLs on loopback hosts are refused before any connection',
      ),
      ref(
        'apps/as/test/cimd.test.ts',
        'isPublicHostname: IP literals and names resolving to special-use addresses are refused',
      ),
    ],
  },
  {
    section: AS,
    attack: 'brute force on login',
    expected: 'rate limited, constant-time compare, no user enumeration',
    defence:
      'Per-username and per-IP login rate limits; one answer for an unknown user and a wrong password. Constant time by construction (scrypt against a dummy hash for unknown users, `timingSafeEqual`); not asserted by timing, since the project forbids timed assertions.',
    tests: [
      ref(AS_CODE, 'login: same answer for unknown user and wrong password, then rate limited'),
      ref(
        'apps/as/test/registration.test.ts',
        'createAccount stores an scrypt hash that verifies; refuses duplicates and weak passwords',
      ),
    ],
  },
  {
    section: AS,
    attack: 'CSRF on consent',
    expected: 'refused',
    defence: 'The consent form carries a per-interaction token and the Origin is checked.',
    tests: [ref(AS_CODE, 'CSRF: consent without the token or from another origin is refused')],
  },
  {
    section: ENCLAVE,
    attack: "tenant B's token with tenant A's handle",
    expected: 'same answer as an unknown handle',
    defence:
      'The handle must be in the dispatch token and owned by its subject; unknown, foreign and revoked handles all answer `handle_unavailable` with one message.',
    tests: [
      ref(ENCLAVE_E2E, 'another tenant cannot use a handle: same answer as an unknown handle'),
      ref(
        E2E,
        "another owner's handle gets exactly the same refusal as an unknown handle at the token exchange",
      ),
    ],
  },
  {
    section: ENCLAVE,
    attack: "A's ciphertext uploaded to B's connection (transplant)",
    expected: 'enclave refuses (binding inside plaintext)',
    defence:
      'The sealed plaintext carries its binding (issuer, owner, connection, upload nonce); the enclave compares it with the record it was fetched for.',
    tests: [
      ref(ENCLAVE_E2E, 'a ciphertext transplanted to another connection or tenant is refused'),
      ref(ENCLAVE_E2E, 'a plaintext whose upload_nonce or issuer does not match is refused'),
    ],
  },
  {
    section: ENCLAVE,
    attack:
      'tampered ciphertext: flipped byte in epk / tag / body; lengths 0, 31, 47; unknown `kid`',
    expected: 'one generic error, no detail',
    defence:
      'libsodium-compatible sealed box opening that fails as one error type; the enclave maps every failure to `handle_unavailable`.',
    tests: [
      ref(
        ENCLAVE_E2E,
        'tampered ciphertexts (epk, tag, body, lengths 0/31/47) and an unknown kid give one generic error',
      ),
      ref('packages/protocol/test/sealedBox.test.ts', 'flipped byte in ${label}'),
      ref('packages/protocol/test/sealedBox.test.ts', 'input of ${length} bytes'),
      ref(
        E2E,
        'a tampered envelope: the tool gets a generic handle_unavailable and the upstream sees no request',
      ),
    ],
  },
  {
    section: ENCLAVE,
    attack:
      'request to a host outside `allowed_hosts`; IP literal; `localhost`; 169.254.169.254; `host@evil`; trailing dot; upper case / IDN variants; a name resolving to a private address',
    expected: 'refused, upstream sees zero connections',
    defence:
      'Egress policy before any connection: the host must equal an allowed host exactly (lower-case DNS name, port 443), no IP literals, every resolved address public, and the connection pinned to the checked address.',
    tests: [
      ref(
        ENCLAVE_E2E,
        'refuses hosts outside allowed_hosts and their spoofs; the upstream sees zero connections',
      ),
      ref(ENCLAVE_E2E, 'refuses an IP literal or metadata address even inside allowed_hosts'),
      ref(
        'apps/enclave/test/unit/hosts.test.ts',
        'refuses ${JSON.stringify(host)} without dev upstreams (${reason})',
      ),
      ref(
        'apps/enclave/test/unit/hosts.test.ts',
        'refuses a name that resolves to a private address, even mixed with public ones',
      ),
      ref(
        'apps/enclave/test/e2e/startEnclave.test.ts',
        'refuses localhost upstreams without the dev flag; the upstream sees zero connections',
      ),
      ref(
        SEC_CANARY,
        'another host than allowed_hosts: host_not_allowed (403), the upstream sees nothing',
      ),
    ],
  },
  {
    section: ENCLAVE,
    attack: 'upstream 302 to another host',
    expected: 'credential never sent there (Authorization and custom headers)',
    defence: 'Redirects are never followed: the 3xx is returned to the caller as it is.',
    tests: [
      ref(ENCLAVE_E2E, 'a redirect to another host is returned, not followed'),
      ref('apps/enclave/test/unit/upstream.test.ts', 'does not follow redirects'),
      ref(
        SEC_CANARY,
        'a redirect to another host is returned, not followed (one upstream request)',
      ),
    ],
  },
  {
    section: ENCLAVE,
    attack: 'upstream echoes the credential back',
    expected: 'redacted in the response',
    defence:
      'Exact-value redaction of the secret and its encodings in the body and the allow-listed response headers.',
    tests: [
      ref(
        ENCLAVE_E2E,
        'an upstream echo of the credential is redacted (body and allow-listed headers)',
      ),
      ref(ENCLAVE_E2E, 'bearer and basic echoes are redacted too'),
      ref('apps/enclave/test/unit/redactInject.test.ts', 'redacts ${form}'),
      ref(SEC_CANARY, 'header injection (Token {secret}): the echoed header is redacted'),
      ref(SEC_CANARY, 'basic injection: the echoed Authorization is redacted'),
    ],
  },
  {
    section: ENCLAVE,
    attack: 'credential with CR/LF/NUL',
    expected: 'refused before any header is built, generic error',
    defence: 'The injection refuses control characters in the credential before building headers.',
    tests: [
      ref(ENCLAVE_E2E, 'refuses a credential with CR/LF/NUL before any header is built'),
      ref(
        'apps/enclave/test/unit/redactInject.test.ts',
        'refuses credentials with CR, LF, NUL or other controls',
      ),
    ],
  },
  {
    section: ENCLAVE,
    attack: 'dispatch request replayed',
    expected: 'refused (`jti`)',
    defence:
      'The dispatch proof `jti` goes through the enclave replay store (Redis shared by every enclave instance with `REDIS_URL`).',
    tests: [
      ref(ENCLAVE_E2E, 'refuses a replayed dispatch request (same proof jti)'),
      ref(
        SEC_SCALE,
        'a dispatch proof accepted by enclave #1 is refused as a replay by enclave #2',
      ),
    ],
  },
  {
    section: ENCLAVE,
    attack: 'enclave key rotated',
    expected: 'old envelopes still open; retired `kid` refused',
    defence: 'A keyring of X25519 keys by `kid`: rotation adds a key, retirement removes one.',
    tests: [
      ref(ENCLAVE_E2E, 'old kids keep opening until retired; a retired kid is refused'),
      ref('apps/enclave/test/unit/keyring.test.ts', 'creates, rotates and retires'),
    ],
  },
  {
    section: ENCLAVE,
    attack:
      'attestation: wrong platform key, unknown measurement, stale, wrong nonce, `debug: true`, pk swapped',
    expected: 'the client refuses to seal',
    defence:
      'The client SDK verifies the attestation JWS against the pinned platform key and measurements, its nonce and age, before sealing to the attested key.',
    tests: [
      ref('packages/protocol/test/attestation.test.ts', '${label} → ${expected}'),
      ref(
        'packages/sdk-client/test/connections.test.ts',
        'refuses to seal when the attestation is ${mode} (${code}); nothing is uploaded',
      ),
    ],
  },
  {
    section: ENCLAVE,
    attack: 'an operation other than dispatch (e.g. "decrypt") on the enclave\'s API',
    expected: 'not found; fuzzed',
    defence:
      'The launcher routes only `/healthz`, `/attestation`, `/metrics` and `POST /dispatch`; everything else is 404 `not_found`.',
    tests: [
      ref(ENCLAVE_E2E, 'answers 404 not_found for every other operation (fuzzed)'),
      ref(
        'tests/security/test/fuzz.test.ts',
        'enclave /dispatch without a valid token: random bodies never give a 5xx',
      ),
    ],
  },
  {
    section: CANARY,
    attack:
      "Seal a random canary secret, then drive the success path and every failure path (upstream 401/500, timeout, enclave crash, bad request, redirect, echo). The canary must not appear — raw, hex, base64, base64 inside `Basic`, URL-encoded or JSON-escaped — in any process's stdout/stderr, log files, MCP responses, error messages, the database dump, or (test hook) a heap snapshot of the enclave worker after GC.",
    expected: '',
    defence:
      'Secrets live in zeroed `Uint8Array`s that redact themselves; errors are generic; logs carry hashes only. The scan covers 13 encodings with a positive control, over every process output, every answer, the SQLite database and, in the scale-out run, every PostgreSQL table and the Redis keys.',
    tests: [
      ref(SEC_CANARY, 'no process output, no answer and no AS table holds the canary in any form'),
      ref(
        SEC_CANARY,
        'the scanner finds a planted canary in every form, in logs and in a database',
      ),
      ref(
        SEC_SCALE,
        'no process output, answer, PostgreSQL row or Redis key holds the canary in any form',
      ),
      ref(ENCLAVE_E2E, 'is absent from a heap snapshot of the worker after GC'),
      ref(
        ENCLAVE_E2E,
        'is absent from every answer and from the launcher and worker stdout/stderr',
      ),
      ref(
        'apps/as/test/logs.test.ts',
        'logs never contain tokens, proofs, client secrets, envelopes or passwords (canary)',
      ),
      ref(
        'packages/protocol/test/envelope.test.ts',
        'no error message or stack mentions the canary',
      ),
    ],
  },
  {
    section: FAULTS,
    attack: 'enclave worker crashes mid-request',
    expected: 'caller gets a clean 503-class error; launcher restarts it; next request succeeds',
    defence:
      'The launcher supervises the worker process: pending requests fail with 503 `temporarily_unavailable`, the worker is restarted from the measured bundle.',
    tests: [
      ref(
        ENCLAVE_E2E,
        'a crash mid-request gives a clean 503, the worker restarts and the next request succeeds',
      ),
      ref(
        SEC_FAULTS,
        'in-flight calls get a clean temporarily_unavailable (503), the next call succeeds',
      ),
    ],
  },
  {
    section: FAULTS,
    attack: 'AS restarts',
    expected: 'signing keys persist; issued tokens still validate; connections still dispatch',
    defence: 'Signing keys, clients and connections live in the AS database, not in memory.',
    tests: [
      ref(
        SEC_FAULTS,
        'signing keys persist; a token issued before still works and the connection dispatches',
      ),
      ref(
        'apps/as/test/registration.test.ts',
        'signing keys survive a restart: same kid, tokens still verify against the JWKS',
      ),
    ],
  },
  {
    section: FAULTS,
    attack: 'PostgreSQL or Redis unreachable',
    expected: 'fail closed with a clear error (not a hang, not fail-open); recovers when back',
    defence:
      'Bounded store timeouts; an unreachable store answers 503 `temporarily_unavailable` (AS, MCP server, enclave) and pools reconnect.',
    tests: [
      ref(
        SEC_SCALE,
        "${name} ${mode === 'reset' ? 'refusing connections' : 'not answering'}: the token endpoint fails closed with 503 temporarily_unavailable like the MCP server and enclave, then recovers",
      ),
      ref(
        'apps/as/test/unavailable.test.ts',
        'token endpoint and vault route fail closed, then recover',
      ),
      ref(
        'packages/mcp-server/test/redis.test.ts',
        'fails closed with 503 temporarily_unavailable (not a hang, not fail-open)',
      ),
      ref(
        'apps/enclave/test/e2e/replayRedis.test.ts',
        'fails closed: 503 temporarily_unavailable, no upstream connection, no password in logs',
      ),
    ],
  },
  {
    section: FAULTS,
    attack: 'JWKS endpoint down',
    expected: 'cached keys keep working until TTL; then 401/503, never accept unverified',
    defence: 'JWKS cached with a TTL; an unknown kid while the JWKS is unreachable is refused.',
    tests: [
      ref(
        'packages/mcp-server/test/jwks.test.ts',
        'JWKS down: cached keys work until the TTL, then 503 (never unverified)',
      ),
      ref(
        SEC_FAULTS,
        'cached keys keep working; an unknown kid is refused with 401 invalid_token, never accepted',
      ),
    ],
  },
  {
    section: FAULTS,
    attack: 'slow or huge upstream response',
    expected: 'time and size limits, clean error',
    defence:
      'Upstream timeout (30 s) and response size limit (10 MiB) in the enclave, both configurable: 504 `upstream_timeout`, 502 `response_too_large`.',
    tests: [
      ref(ENCLAVE_E2E, 'maps a slow upstream to 504 upstream_timeout'),
      ref(ENCLAVE_E2E, 'maps a body over 10 MiB to 502 response_too_large'),
      ref(
        SEC_CANARY,
        'an upstream slower than DAUTH_ENCLAVE_UPSTREAM_TIMEOUT_MS=${TIMEOUT_MS} is upstream_timeout (504)',
      ),
      ref(
        SEC_CANARY,
        'a body over DAUTH_ENCLAVE_MAX_RESPONSE_BYTES=${MAX_BYTES} is response_too_large (502)',
      ),
    ],
  },
  {
    section: FAULTS,
    attack: 'load: sustained authorized tool calls with dispatch',
    expected: 'zero errors, bounded memory',
    defence:
      "Bounded caches and replay stores (entries expire with the proofs they guard). The soak asserts zero failed requests and, per process, RSS growth under 10 % after the warm-up, measured after forced GCs; the enclave worker's RSS check is a `todo` (its native RSS grows under sustained dispatch while its JS heap stays flat).",
    tests: [
      ref(
        'tests/security/test/soak.test.ts',
        'zero failed requests under mixed load with dispatch; the figures are reported',
      ),
      ref(
        'tests/security/test/soak.test.ts',
        'RSS of the ${name} process grows less than 10 % after the warm-up',
      ),
    ],
  },
]
