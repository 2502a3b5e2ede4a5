import { peerIdFromString } from '@libp2p/peer-id'
import { describe, expect, it } from 'vitest'
import { NameRecord, SignedNameRecord } from '../../src/gen/aurae/mesh/v0/mesh.ts'
import type { NodeKey } from '../../src/mesh/keys.ts'
import { newKey, recordBy } from '../helpers/name-records.ts'
import { MAX_SKEW_MS, NAME_TTL_MS, claimsOf, isAddrText, nameKey, nameSelectors, nameValidators, openNameRecord, signNameRecord } from '../../src/mesh/names.ts'
import { signBy } from '../../src/mesh/signing.ts'

const NOW = Date.now()
const key = nameKey('alice', 'example.org')
const alice = await newKey()
const mallory = await newKey()
const eve = await newKey()
const record = (by: NodeKey, seq = NOW, name?: string, addrs?: string[]): Uint8Array => recordBy(by, seq, name, addrs)
/** A record signed by `by` over a body it did not write itself: what an attacker assembles. */
const signedAs = (by: NodeKey, body: NameRecord): Uint8Array => {
  const bytes = Buffer.from(NameRecord.encode(body).finish())
  return SignedNameRecord.encode({ body: bytes, signature: signBy(by, bytes) }).finish()
}
const select = nameSelectors(() => undefined).aurae

describe('name records', () => {
  it('are filed under /aurae/<name>@<domain>', () => {
    expect(new TextDecoder().decode(key)).toBe('/aurae/alice@example.org')
  })

  it('accepts a current record signed by the key it names', () => {
    expect(openNameRecord(key, record(alice), NOW).peerId).toBe(alice.peerId)
  })

  it('accepts a record up to the allowed clock skew ahead and until just before it expires', () => {
    expect(openNameRecord(key, record(alice, NOW + MAX_SKEW_MS), NOW).seq).toBe(NOW + MAX_SKEW_MS)
    expect(openNameRecord(key, record(alice, NOW - NAME_TTL_MS + 1), NOW).seq).toBe(NOW - NAME_TTL_MS + 1)
    const most = Array.from({ length: 32 }, (_, i) => `/ip4/10.0.0.${i}/tcp/4710`)
    expect(openNameRecord(key, record(alice, NOW, 'alice', most), NOW).addrs).toEqual(most)
  })

  it.each([
    ['dated too far ahead', () => record(alice, NOW + MAX_SKEW_MS + 1), 'name record is dated in the future'],
    ['dated 10^12 ms ahead', () => record(alice, NOW + 1e12), 'name record is dated in the future'],
    ['expired', () => record(alice, NOW - NAME_TTL_MS), 'name record has expired'],
    ['filed under another name', () => record(alice, NOW, 'bob'), 'name record is filed under another name'],
    ['carrying a terminal escape in an address', () => record(alice, NOW, 'alice', ['/dns4/\x1b[2J/tcp/1']), 'name record carries unusable addresses'],
    ['carrying more than 32 addresses', () => record(alice, NOW, 'alice', Array.from({ length: 33 }, (_, i) => `/ip4/10.0.0.${i}/tcp/1`)), 'name record carries unusable addresses'],
    ['signed by another key', () => signNameRecord(mallory, { name: 'alice', domain: 'example.org', peerId: alice.peerId, addrs: [], seq: NOW }), 'name record is not signed by the node it names'],
    ['changed after it was signed', () => {
      const signed = SignedNameRecord.decode(record(alice))
      const body = Buffer.from(NameRecord.encode({ ...NameRecord.decode(signed.body), addrs: ['/ip4/203.0.113.66/tcp/4710'] }).finish())
      return SignedNameRecord.encode({ body, signature: signed.signature }).finish()
    }, 'name record is not signed by the node it names'],
    ['naming its key as a CID, not as libp2p writes a PeerId', () => signedAs(alice, { name: 'alice', domain: 'example.org', peerId: peerIdFromString(alice.peerId).toCID().toString(), addrs: [], seq: NOW }), 'name record is not signed by the node it names'],
    ['naming a PeerId that holds no key', () => signedAs(alice, { name: 'alice', domain: 'example.org', peerId: 'QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N', addrs: [], seq: NOW }), 'name record is not signed by the node it names'],
    ['with no signature', () => SignedNameRecord.encode({ body: Buffer.from(NameRecord.encode({ name: 'alice', domain: 'example.org', peerId: alice.peerId, addrs: [], seq: NOW }).finish()), signature: Buffer.alloc(0) }).finish(), 'name record is not signed by the node it names'],
    ['garbage', () => Uint8Array.from([0xff, 0xff]), 'name record is malformed']
  ])('refuses a record %s', (_what, make, message) => {
    expect(() => openNameRecord(key, make(), NOW)).toThrow(message)
  })

  it('refuses a record for a name that is no node name, even filed under it', () => {
    const upper = nameKey('Alice', 'example.org')
    expect(() => openNameRecord(upper, record(alice, NOW, 'Alice'), NOW)).toThrow('name record names no valid node name')
  })

  it('has the DHT refuse what does not verify, and take what does', async () => {
    await expect(nameValidators.aurae(key, record(alice))).resolves.toBeUndefined()
    await expect(nameValidators.aurae(key, record(alice, NOW, 'bob'))).rejects.toThrow('filed under another name')
    await expect(nameValidators.aurae(key, Uint8Array.from([1, 2, 3]))).rejects.toThrow()
  })
})

describe('addresses in records and tokens', () => {
  it.each([
    ['/ip4/10.0.0.1/tcp/4710', true],
    ['/ip4/203.0.113.7/tcp/4710/p2p/12D3KooWLPHEKR3Nea98GxjnFGrm33yNfQ1PDc9mXxQEBZGSqgry/p2p-circuit', true],
    ['', false],
    ['ip4/10.0.0.1/tcp/1', false],
    ['/ip4/10.0.0.1 /tcp/1', false],
    ['/dns4/a\nb/tcp/1', false],
    ['/dns4/\u00e9/tcp/1', false],
    [`/${'a'.repeat(1023)}`, true],
    [`/${'a'.repeat(1024)}`, false]
  ])('%j is usable: %s', (text, ok) => {
    expect(isAddrText(text)).toBe(ok)
  })
})

describe('choosing among records', () => {
  it('keeps the newest valid record of each key and drops the rest', () => {
    const claims = claimsOf(key, [record(alice, NOW - 5), record(alice, NOW), Uint8Array.from([0]), record(mallory, NOW - 1), record(eve, NOW, 'bob')], NOW)
    expect([...claims.keys()].sort()).toEqual([alice.peerId, mallory.peerId].sort())
    expect(claims.get(alice.peerId)?.seq).toBe(NOW)
  })

  it('never picks a record that does not verify over one that does', () => {
    const forged = signNameRecord(mallory, { name: 'alice', domain: 'example.org', peerId: alice.peerId, addrs: [], seq: NOW + 60_000 })
    expect(select(key, [forged, record(alice, NOW - 5)])).toBe(1)
    expect(select(key, [Uint8Array.from([0xff]), record(alice, NOW - 5), record(eve, NOW, 'bob')])).toBe(1)
  })

  it('picks the newest record when no key holds the name, and the holder\'s over a newer one when a key does', () => {
    expect(select(key, [record(alice, NOW - 5), record(mallory, NOW)])).toBe(1)
    expect(nameSelectors(() => alice.peerId).aurae(key, [record(alice, NOW - 5), record(mallory, NOW)])).toBe(0)
  })
})
