/**
 * The worker's DPoP signer for its AS requests: its proofs pass @dauth/protocol's
 * verifyDpopProof (every RFC 9449 check, the oracle the AS uses), carry only the public key,
 * a fresh `jti` each, the right `ath` for each access token, and the nonce when given.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import {
  DpopProofError,
  MemoryReplayStore,
  accessTokenHash,
  verifyDpopProof,
} from '@dauth/protocol'
import { DpopSigner } from '../../src/worker/dpopSigner.ts'

function decode(part: string | undefined): Record<string, unknown> {
  return JSON.parse(Buffer.from(part ?? '', 'base64url').toString('utf8')) as Record<
    string,
    unknown
  >
}

describe('DpopSigner', () => {
  it('signs proofs that verifyDpopProof accepts, bound to its thumbprint, ath and nonce', async () => {
    const signer = await DpopSigner.generate()
    const htu = 'https://as.example.com/enclave/envelopes/h1'
    const replayStore = new MemoryReplayStore()
    for (const token of ['token-a', 'token-a', 'token-b']) {
      const proof = signer.proof({ htm: 'GET', htu, accessToken: token, nonce: 'n-1' })
      const verified = await verifyDpopProof(proof, {
        htm: 'GET',
        htu,
        accessToken: token,
        expectedJkt: signer.jkt,
        nonce: 'n-1',
        replayStore,
      })
      assert.equal(verified.jkt, signer.jkt)
      const [header, payload] = proof.split('.')
      assert.deepEqual(Object.keys(decode(header)), ['typ', 'alg', 'jwk'])
      assert.deepEqual(Object.keys(decode(header).jwk as object), ['kty', 'crv', 'x', 'y'])
      assert.equal(decode(payload).ath, accessTokenHash(token))
    }
  })

  it('gives every proof its own jti and binds it to method and URI', async () => {
    const signer = await DpopSigner.generate()
    const proofs = Array.from({ length: 20 }, () =>
      signer.proof({ htm: 'POST', htu: 'https://as.example.com/token' }),
    )
    assert.equal(new Set(proofs.map((p) => decode(p.split('.')[1]).jti)).size, 20)
    await assert.rejects(
      verifyDpopProof(proofs[0] ?? '', { htm: 'GET', htu: 'https://as.example.com/token' }),
      (error: unknown) => error instanceof DpopProofError && error.code === 'ERR_DPOP_HTM',
    )
    await assert.rejects(
      verifyDpopProof(proofs[0] ?? '', { htm: 'POST', htu: 'https://as.example.com/other' }),
      (error: unknown) => error instanceof DpopProofError && error.code === 'ERR_DPOP_HTU',
    )
    const other = await DpopSigner.generate()
    await assert.rejects(
      verifyDpopProof(proofs[0] ?? '', {
        htm: 'POST',
        htu: 'https://as.example.com/token',
        expectedJkt: other.jkt,
      }),
      (error: unknown) => error instanceof DpopProofError && error.code === 'ERR_DPOP_JKT_MISMATCH',
    )
  })
})
