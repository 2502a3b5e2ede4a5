import { describe, expect, it } from 'vitest'
import { privateKeyFromProtobuf } from '@libp2p/crypto/keys'
import type { Ed25519PrivateKey } from '@libp2p/interface'
import { nodeKeyOf } from '../../src/mesh/keys.ts'
import { nameKey, openNameRecord, signNameRecord } from '../../src/mesh/names.ts'
import { signBy, signedBy } from '../../src/mesh/signing.ts'
import { readToken } from '../../src/mesh/token.ts'
import { KEY_FILE, KEY_PEER_ID, NAME_RECORD, NAME_RECORD_SEQ, SIGNATURE, TOKEN, TOKEN_EXPIRES_AT_MS } from '../helpers/mesh-vectors.ts'

const key = nodeKeyOf(privateKeyFromProtobuf(Buffer.from(KEY_FILE, 'hex')) as Ed25519PrivateKey)
const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex')

describe('what the mesh signs keeps its format', () => {
  it('signs as before, and checks a signature made before', () => {
    expect(key.peerId).toBe(KEY_PEER_ID)
    expect(hex(signBy(key, Buffer.from('aurae')))).toBe(SIGNATURE)
    expect(signedBy(KEY_PEER_ID, Buffer.from('aurae'), Buffer.from(SIGNATURE, 'hex'))).toBe(true)
    expect(signedBy(KEY_PEER_ID, Buffer.from('aurae'), Buffer.from(SIGNATURE, 'hex').subarray(1))).toBe(false)
  })

  it('redeems a token issued before, until it expires', () => {
    const claims = readToken(TOKEN, NAME_RECORD_SEQ)
    expect(claims).toMatchObject({ peerId: KEY_PEER_ID, name: 'alice', domain: 'example.org', addrs: ['/ip4/192.0.2.1/tcp/4710'], expiresAtMs: TOKEN_EXPIRES_AT_MS })
    expect(claims.secret).toHaveLength(32)
    expect(() => readToken(TOKEN, TOKEN_EXPIRES_AT_MS)).toThrow(/^this peering token expired at 2100-01-01T00:00:00.000Z/)
  })

  it('writes the same name record, byte for byte, and reads one written before', () => {
    const record = { name: 'alice', domain: 'example.org', peerId: KEY_PEER_ID, addrs: ['/ip4/192.0.2.1/tcp/4710'], seq: NAME_RECORD_SEQ }
    expect(hex(signNameRecord(key, record))).toBe(NAME_RECORD)
    expect(openNameRecord(nameKey('alice', 'example.org'), Buffer.from(NAME_RECORD, 'hex'), NAME_RECORD_SEQ + 1000)).toEqual(record)
  })
})
