import assert from 'node:assert/strict'
import { test } from 'node:test'
import { isPublicAddress } from '../src/index.ts'

test('isPublicAddress accepts public IPv4 and IPv6 addresses', () => {
  for (const address of ['93.184.216.34', '1.1.1.1', '2606:4700:4700::1111', '8.8.8.8']) {
    assert.equal(isPublicAddress(address), true, address)
  }
})

test('isPublicAddress refuses every special-purpose block, mapped forms and non-IPs', () => {
  for (const address of [
    '0.0.0.0',
    '10.1.2.3',
    '100.64.0.1',
    '127.0.0.1',
    '169.254.169.254',
    '172.16.0.1',
    '172.31.255.255',
    '192.0.0.8',
    '192.0.2.1',
    '192.168.1.1',
    '198.18.0.1',
    '198.51.100.7',
    '203.0.113.9',
    '224.0.0.1',
    '255.255.255.255',
    '::',
    '::1',
    '64:ff9b::a00:1',
    '2001:db8::1',
    '2002::1',
    'fc00::1',
    'fd12::1',
    'fe80::1',
    'fec0::1',
    'ff02::1',
    '::ffff:10.0.0.1',
    '::ffff:127.0.0.1',
    'localhost',
    'example.com',
    '',
  ]) {
    assert.equal(isPublicAddress(address), false, address)
  }
})
