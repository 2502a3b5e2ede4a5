import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey, peerIdFromString } from '@libp2p/peer-id'
import { afterAll, describe, expect, it } from 'vitest'
import { Token, TokenBody } from '../../src/gen/aurae/mesh/v0/mesh.ts'
import { createKey } from '../../src/mesh/keys.ts'
import { publicKeyOf, signBy, signedBy } from '../../src/mesh/signing.ts'
import { issueToken, readToken } from '../../src/mesh/token.ts'

const dir = mkdtempSync(join(tmpdir(), 'token-spec-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
const alice = await createKey(join(dir, 'alice'))
const mallory = await createKey(join(dir, 'mallory'))
const claims = { name: 'alice', domain: 'example.org', addrs: ['/ip4/192.0.2.1/tcp/4710'], expiresAtMs: Date.now() + 3_600_000 }

/** The token's body and signature, to be changed and put back together as an attacker would. */
const parts = (token: string): { body: Uint8Array, signature: Uint8Array } => Token.decode(Buffer.from(token.slice('aurae1-'.length), 'base64url'))
const join2 = (body: Uint8Array, signature: Uint8Array): string => 'aurae1-' + Buffer.from(Token.encode({ body, signature }).finish()).toString('base64url')

describe('PeerIds', () => {
  it('are libp2p\'s own for an Ed25519 key, and give the key back', async () => {
    const key = await generateKeyPair('Ed25519')
    const id = peerIdFromPrivateKey(key).toString()
    expect(alice.peerId).toBe(peerIdFromPrivateKey(alice.privateKey).toString())
    expect(publicKeyOf(id)?.equals(key.publicKey)).toBe(true)
  })

  it('give no key for anything that is not an Ed25519 PeerId', async () => {
    const rsa = peerIdFromPrivateKey(await generateKeyPair('secp256k1')).toString()
    // The same key written as a CID is another text for it: names and trust compare PeerIds as text.
    const asCid = peerIdFromString(alice.peerId).toCID().toString()
    for (const text of ['', 'hello', '12D3KooW', rsa, alice.peerId.slice(0, -2), asCid]) expect({ text, key: publicKeyOf(text) }).toEqual({ text, key: undefined })
  })
})

describe('signatures', () => {
  it('verify against the PeerId of the key that made them, and nothing else', () => {
    const data = Buffer.from('the record')
    const sig = signBy(alice, data)
    expect(signedBy(alice.peerId, data, sig)).toBe(true)
    expect(signedBy(mallory.peerId, data, sig)).toBe(false)
    expect(signedBy(alice.peerId, Buffer.from('the recorD'), sig)).toBe(false)
    const flipped = Buffer.from(sig)
    flipped[0] ^= 1
    expect(signedBy(alice.peerId, data, flipped)).toBe(false)
    expect(signedBy('not a peer id', data, sig)).toBe(false)
  })
})

describe('peering tokens', () => {
  it('carry what the issuer put in, a fresh 32-byte secret each, and its PeerId', () => {
    const a = issueToken(alice, claims)
    const b = issueToken(alice, claims)
    const read = readToken(a.token)
    expect(read).toMatchObject({ ...claims, peerId: alice.peerId })
    expect(read.secret).toHaveLength(32)
    expect(Buffer.from(read.secret).equals(Buffer.from(readToken(b.token).secret))).toBe(false)
  })

  it('refuse a token whose body was changed, or signed by another key, or expired, or not a token at all', () => {
    const { token } = issueToken(alice, claims)
    const { body, signature } = parts(token)
    // Another address slipped in: the signature no longer matches.
    const moved = Buffer.from(TokenBody.encode({ ...TokenBody.decode(body), addrs: ['/ip4/203.0.113.66/tcp/4710'] }).finish())
    expect(() => readToken(join2(moved, signature))).toThrow('this peering token has been tampered with: its signature does not match its issuer')
    // Mallory signs a body that names alice: the signature is checked against alice's key, inside her PeerId.
    expect(() => readToken(join2(moved, signBy(mallory, moved)))).toThrow('tampered with')
    expect(() => readToken(issueToken(alice, { ...claims, expiresAtMs: Date.now() - 1 }).token)).toThrow(/^this peering token expired at /)
    expect(() => readToken('hello')).toThrow('this is not a peering token (it should start with aurae1-; get one from "aurae proxy" on the other node)')
    expect(() => readToken('aurae1-!!!!')).toThrow(/garbled/)
    // A body with a PeerId that holds no key, or a short secret.
    const noKey = Buffer.from(TokenBody.encode({ ...TokenBody.decode(body), peerId: 'nope' }).finish())
    expect(() => readToken(join2(noKey, signature))).toThrow('this peering token is garbled: its issuer is not a valid PeerId')
    const shortSecret = Buffer.from(TokenBody.encode({ ...TokenBody.decode(body), secret: Buffer.alloc(8) }).finish())
    expect(() => readToken(join2(shortSecret, signBy(alice, shortSecret)))).toThrow('garbled')
  })
})
