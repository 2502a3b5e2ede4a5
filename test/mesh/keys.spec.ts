import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { privateKeyFromProtobuf } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createKey, loadKey } from '../../src/mesh/keys.ts'

describe('the node key', () => {
  let dir: string
  beforeEach(() => { dir = mkdtempSync(join(tmpdir(), 'key-')) })
  afterEach(() => rmSync(dir, { recursive: true, force: true }))

  it('is an owner-only Ed25519 key that libp2p loads, with the PeerId libp2p derives', () => {
    const path = join(dir, 'ssh', 'id_aura')
    const key = createKey(path)
    expect(statSync(path).mode & 0o777).toBe(0o600)
    expect(key.peerId).toMatch(/^12D3KooW/)
    expect(peerIdFromPrivateKey(privateKeyFromProtobuf(readFileSync(path))).toString()).toBe(key.peerId)
    expect(loadKey(path)?.peerId).toBe(key.peerId)
  })

  it('is undefined when there is none', () => {
    expect(loadKey(join(dir, 'none'))).toBeUndefined()
  })

  it('refuses a garbled, truncated, mismatched or world-readable key', () => {
    const path = join(dir, 'k')
    writeFileSync(path, 'not a key', { mode: 0o600 })
    expect(() => loadKey(path)).toThrow(/is not an Ed25519 key in libp2p's format/)
    createKey(join(dir, 'good'))
    const good = readFileSync(join(dir, 'good'))
    writeFileSync(path, good.subarray(0, 40), { mode: 0o600 })
    expect(() => loadKey(path)).toThrow(/is not an Ed25519 key/)
    const flipped = Buffer.from(good)
    flipped[66] ^= 1
    writeFileSync(path, flipped, { mode: 0o600 })
    expect(() => loadKey(path)).toThrow(/is corrupt/)
    chmodSync(join(dir, 'good'), 0o644)
    expect(() => loadKey(join(dir, 'good'))).toThrow(/run: chmod 600/)
  })
})
