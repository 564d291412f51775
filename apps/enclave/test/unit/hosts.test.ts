import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import {
  checkHostSyntax,
  isPermittedAddress,
  resolvePinnedAddress,
  selectAllowedHost,
} from '../../src/worker/hosts.ts'

describe('egress host policy', () => {
  it('accepts a lower-case DNS name on 443', () => {
    assert.deepEqual(checkHostSyntax('api.github.com', false), {
      ok: true,
      hostname: 'api.github.com',
      port: 443,
    })
  })

  const refused: [string, string][] = [
    ['API.GITHUB.COM', 'host_chars'],
    ['api.github.com.', 'host_trailing_dot'],
    ['user@api.github.com', 'host_chars'],
    ['api.github.com@evil.example', 'host_chars'],
    ['169.254.169.254', 'host_ip_literal'],
    ['127.0.0.1', 'host_ip_literal'],
    ['0x7f.1', 'host_ip_literal'],
    ['2130706433', 'host_ip_literal'],
    ['[::1]', 'host_chars'],
    ['localhost', 'host_localhost'],
    ['foo.localhost', 'host_localhost'],
    ['intranet', 'host_single_label'],
    ['api.github.com:443', 'host_port'],
    ['api.github.com:8443', 'host_port'],
    ['аpi.github.com', 'host_chars'], // Cyrillic а
    ['api..github.com', 'host_label'],
    ['-api.github.com', 'host_label'],
    ['api github.com', 'host_chars'],
    ['', 'host_length'],
  ]
  for (const [host, reason] of refused) {
    it(`refuses ${JSON.stringify(host)} without dev upstreams (${reason})`, () => {
      assert.deepEqual(checkHostSyntax(host, false), { ok: false, reason })
    })
  }

  it('allows localhost with a port only with dev upstreams', () => {
    assert.deepEqual(checkHostSyntax('localhost:4300', true), {
      ok: true,
      hostname: 'localhost',
      port: 4300,
    })
    assert.deepEqual(checkHostSyntax('localhost:04300', true), {
      ok: false,
      reason: 'host_port_syntax',
    })
    assert.deepEqual(checkHostSyntax('localhost:70000', true), {
      ok: false,
      reason: 'host_port_range',
    })
    assert.deepEqual(checkHostSyntax('127.0.0.1:4300', true), {
      ok: false,
      reason: 'host_ip_literal',
    })
  })

  it('selects the first allowed host by default and compares exactly', () => {
    const allowed = ['api.github.com', 'uploads.github.com']
    assert.deepEqual(selectAllowedHost(undefined, allowed, false), {
      ok: true,
      hostname: 'api.github.com',
      port: 443,
    })
    assert.deepEqual(selectAllowedHost('uploads.github.com', allowed, false), {
      ok: true,
      hostname: 'uploads.github.com',
      port: 443,
    })
    assert.deepEqual(selectAllowedHost('evil.example', allowed, false), {
      ok: false,
      reason: 'host_not_in_allowed_hosts',
    })
    assert.deepEqual(selectAllowedHost('Api.github.com', allowed, false), {
      ok: false,
      reason: 'host_not_in_allowed_hosts',
    })
    // a compromised AS cannot smuggle an IP literal through allowed_hosts either
    assert.deepEqual(selectAllowedHost(undefined, ['10.0.0.1'], false), {
      ok: false,
      reason: 'host_ip_literal',
    })
  })
})

describe('address classification', () => {
  const nonPublic = [
    '127.0.0.1',
    '10.1.2.3',
    '172.16.0.1',
    '192.168.1.1',
    '169.254.169.254',
    '100.64.0.1',
    '0.0.0.0',
    '224.0.0.1',
    '::1',
    '::',
    'fe80::1',
    'fc00::1',
    'fd12::1',
    '::ffff:127.0.0.1',
    '::ffff:10.0.0.1',
    '64:ff9b::a00:1',
    '2002:a00:1::1',
    'ff02::1',
  ]
  for (const address of nonPublic) {
    it(`refuses ${address}`, () => assert.equal(isPermittedAddress(address, false), false))
  }
  for (const address of ['140.82.112.5', '8.8.8.8', '2606:4700::1111']) {
    it(`accepts public ${address}`, () => assert.equal(isPermittedAddress(address, false), true))
  }
  it('allows loopback (only loopback) with dev upstreams', () => {
    assert.equal(isPermittedAddress('127.0.0.1', true), true)
    assert.equal(isPermittedAddress('::1', true), true)
    assert.equal(isPermittedAddress('10.0.0.1', true), false)
    assert.equal(isPermittedAddress('169.254.169.254', true), false)
  })
  it('refuses a name that resolves to a private address, even mixed with public ones', async () => {
    const resolver = () =>
      Promise.resolve([
        { address: '140.82.112.5', family: 4 },
        { address: '10.0.0.7', family: 4 },
      ])
    assert.deepEqual(await resolvePinnedAddress('api.example', false, resolver), {
      ok: false,
      code: 'host_not_allowed',
      reason: 'non_public_address',
    })
  })
  it('pins the first address of an all-public answer', async () => {
    const resolver = () =>
      Promise.resolve([
        { address: '140.82.112.5', family: 4 },
        { address: '140.82.112.6', family: 4 },
      ])
    assert.deepEqual(await resolvePinnedAddress('api.example', false, resolver), {
      ok: true,
      address: { address: '140.82.112.5', family: 4 },
    })
  })
  it('maps a DNS failure to upstream_unreachable', async () => {
    const resolver = () => Promise.reject(new Error('ENOTFOUND'))
    assert.deepEqual(await resolvePinnedAddress('nx.example', false, resolver), {
      ok: false,
      code: 'upstream_unreachable',
      reason: 'dns_failed',
    })
  })
})
